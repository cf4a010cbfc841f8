// Loads every example's BPF program and prints what the kernel says of it:
// instructions in the object, after the verifier's rewrites (xlated), the
// instructions the verifier processed, JITed bytes. Runs in the VM
// (tools/vm/run.sh bazel-bin/bench/verifier_stats), for before/after
// comparisons of the library's cost.
#include <cstdio>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_policy.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"

namespace {
template <class P>
int show(const char* label, const iouloop::bpf_image& image, const char* program) {
  try {
    iouloop::ring r;
    iouloop::param_region<P> p;
    iouloop::bpf_engine<P> e(r, p, image, program);
    const auto s = e.stats();
    std::printf("%-18s insns %5u   xlated %5u   verifier processed %7u   jited %6u bytes\n", label, s.insns,
                s.xlated_insns, s.verified_insns, s.jited_bytes);
    return 0;
  } catch (const iouloop::error& e) {
    std::printf("%-18s FAILED: %s\n", label, e.what());
    return 1;
  }
}
}  // namespace

int main() {
  int bad = 0;
  bad += show<nop::policy>("nop", nop_bpf::image(), "nop");
  bad += show<nop::nop_by_hand>("nop_by_hand", nop_bpf::image(), "nop_by_hand");
  bad += show<cp::policy>("cp", cp_bpf::image(), "cp");
  bad += show<echo::policy>("echo", echo_bpf::image(), "echo");
  bad += show<timer::policy>("timer", timer_bpf::image(), "timer");
  return bad ? 1 : 0;
}
