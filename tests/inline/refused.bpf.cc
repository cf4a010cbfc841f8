// Policies whose BPF object libbpf could not load, for the build-time check
// (bpf/call_check.cc): each leaves a call in the object. Built only as an
// iouloop_bpf_object (the check runs in call_check_test) and as a manual
// iouloop_bpf_program whose build tools/test.sh expects to fail.
#include <iouloop/bpf/program.hpp>

#include "tests/inline/plain_policy.hpp"

namespace refused {
using namespace iouloop;

// Marked noinline: stays a function of its own, in .text._ZN...
template <class Loop>
__attribute__((noinline)) void note_completion(Loop& loop) {
  loop.params.completed++;
}

// Recursive, twice per call (so the compiler cannot turn it into a loop):
// cannot be inlined into itself.
inline u32 calls_for(u32 n) { return n <= 1 ? 1 : 1 + calls_for(n - 1) + calls_for(n / 2); }

// Declared, defined nowhere (a BPF object is not linked), not a kfunc.
extern "C" u32 defined_elsewhere(u32);

struct noinline_policy {
  using params_type = plain::params;
  template <class Loop>
  static int step(Loop& loop) {
    for (cqe_view c : loop.cq.template batch<8>()) {
      (void)c;
      note_completion(loop);
    }
    return loop_stop;
  }
};

struct recursive_policy {
  using params_type = plain::params;
  template <class Loop>
  static int step(Loop& loop) {
    loop.params.errors = calls_for(loop.params.total);
    return loop_stop;
  }
};

struct external_policy {
  using params_type = plain::params;
  template <class Loop>
  static int step(Loop& loop) {
    loop.params.errors = defined_elsewhere(loop.params.total);
    return loop_stop;
  }
};

}  // namespace refused

IOULOOP_BPF_POLICY(noinline, refused::noinline_policy);
IOULOOP_BPF_POLICY(recursive, refused::recursive_policy);
IOULOOP_BPF_POLICY(external, refused::external_policy);
