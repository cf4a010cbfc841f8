// The loop-semantics table on the BPF engine: the same cases as on the
// userspace engine (tests/semantics/cases.hpp), run by the kernel's loop.
#include "tests/semantics/cases.hpp"
#include "tests/semantics/semantics_bpf.bpf.h"
#include "tests/support/runners.hpp"

struct semantics_programs {
  template <class P> static iouloop::bpf_image image() { return semantics_bpf::image(); }
  template <class P> static const char* name();
};
#define PROGRAM(P) \
  template <>      \
  const char* semantics_programs::name<sem::P>() { return #P; }
PROGRAM(stop_at_once)
PROGRAM(continue_until_limit)
PROGRAM(return_value)
PROGRAM(sleep_until_cqes)
PROGRAM(wait_idx_lifetime)
PROGRAM(submit_count)
PROGRAM(overflow_flush)
PROGRAM(interrupted_sleep)
PROGRAM(signal_with_completions)
PROGRAM(timer_chain)
PROGRAM(busy_poll)
PROGRAM(assumes_full_batch)
#undef PROGRAM

using bpf = bpf_runner<semantics_programs>;
IOULOOP_SEMANTICS_CASES(bpf)
