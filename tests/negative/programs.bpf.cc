// Programs the kernel must refuse, for the BPF engine's negative tests.
#include <iouloop/bpf/program.hpp>

#include "examples/nop/nop_policy.hpp"

// A NOP policy in a non-sleepable struct_ops/ section: it calls the sleepable
// kfunc bpf_io_uring_submit_sqes, which the verifier must reject.
extern "C" __attribute__((section("struct_ops/nonsleepable_step"), used)) int nonsleepable_step(
    unsigned long long* ctx) {
  return ::iouloop::bpf::run_step<nop::policy>(ctx);
}
extern "C" __attribute__((section(".struct_ops.link"), used)) struct io_uring_bpf_ops nonsleepable_ops = {
    .loop_step = reinterpret_cast<int (*)(struct iou_ctx*, struct iou_loop_params*)>(&nonsleepable_step),
};
extern "C" __attribute__((section(".rodata.iouloop"), used)) const struct iouloop_policy_meta nonsleepable_meta = {
    "nonsleepable", sizeof(nop::params), ::iouloop::policy_traits<nop::policy>::region_bytes};

// A loop whose bound is in the params (README, "Loops need bounds known at
// compile time"): it builds, and would run on the userspace engine, but the
// verifier cannot prove that it ends and refuses the program.
struct runtime_bound {
  using params_type = nop::params;
  template <class Loop>
  static int step(Loop& l) {
    for (iouloop::u32 i = 0; i < l.params.total; ++i) {
      iouloop::abi::sqe* s = l.sq.next();
      if (!s) break;
      iouloop::prep_nop(*s, nop::ud::make(nop::tag::nop, i));
    }
    l.submit();
    return iouloop::loop_stop;
  }
};
IOULOOP_BPF_POLICY(runtime_bound, runtime_bound);
