// The loop-semantics table on the BPF engine: the same cases as on the
// userspace engine (tests/semantics/cases.hpp), run by the kernel's loop.
#include "tests/semantics/cases.hpp"
#include "tests/semantics/semantics_bpf.bpf.h"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(sem::stop_at_once, semantics_bpf::programs::stop_at_once);
IOULOOP_PROGRAM_FOR(sem::continue_until_limit, semantics_bpf::programs::continue_until_limit);
IOULOOP_PROGRAM_FOR(sem::return_value, semantics_bpf::programs::return_value);
IOULOOP_PROGRAM_FOR(sem::sleep_until_cqes, semantics_bpf::programs::sleep_until_cqes);
IOULOOP_PROGRAM_FOR(sem::wait_idx_lifetime, semantics_bpf::programs::wait_idx_lifetime);
IOULOOP_PROGRAM_FOR(sem::submit_count, semantics_bpf::programs::submit_count);
IOULOOP_PROGRAM_FOR(sem::overflow_flush, semantics_bpf::programs::overflow_flush);
IOULOOP_PROGRAM_FOR(sem::interrupted_sleep, semantics_bpf::programs::interrupted_sleep);
IOULOOP_PROGRAM_FOR(sem::signal_with_completions, semantics_bpf::programs::signal_with_completions);
IOULOOP_PROGRAM_FOR(sem::timer_chain, semantics_bpf::programs::timer_chain);
IOULOOP_PROGRAM_FOR(sem::busy_poll, semantics_bpf::programs::busy_poll);
IOULOOP_PROGRAM_FOR(sem::assumes_full_batch, semantics_bpf::programs::assumes_full_batch);
IOULOOP_PROGRAM_FOR(sem::staged_value, semantics_bpf::programs::staged_value);

#define IOULOOP_RUNNER bpf_runner
#include "tests/semantics/table.hpp"
#include "tests/semantics/notify_spin.hpp"
