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
