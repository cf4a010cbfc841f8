// SPDX-License-Identifier: GPL-2.0
// The policies compiled into iouloop_kmod.ko: the same policy headers the BPF
// and userspace engines run, compiled freestanding as kernel code (no
// standard library, no exceptions, no RTTI, no FP/SIMD registers, kernel code
// model; kernel/kmod/Kbuild has the flags). Each policy gets an extern "C"
// step that iouloop_kmod.c calls from the ring's loop_step.
#include "iouloop/kmod_step.h"
#include "iouloop/policy.hpp"
#include "nop_policy.hpp"

namespace {

// Submission through the kernel's own path: io_submit_sqes, found by the C
// side through kallsyms (iouloop_kmod_submit_sqes).
struct kmod_backend {
  void* ctx;
  IOULOOP_INLINE int submit_sqes(iouloop::u32 n) const { return iouloop_kmod_submit_sqes(ctx, n); }
};

template <class P>
int run_step(const iouloop_kmod_step_args* a) {
  using namespace iouloop;
  using params_type = typename policy_traits<P>::params_type;
  if (a->region_bytes < policy_traits<P>::region_bytes) return -1;  // an invalid value: the loop ends, -EINVAL
  kmod_backend backend{a->ctx};
  exit_record& exit = detail::exit_record_in(a->region, policy_traits<P>::region_bytes);
  const volatile u64 uaddr = a->params_uaddr;
  loop<kmod_backend, params_type> l(backend, a->rings, a->sqes, *reinterpret_cast<params_type*>(a->region), uaddr,
                                    *a->layout, a->cq_wait_idx, exit);
  return detail::run_one_step<P>(l, exit);
}

}  // namespace

extern "C" int iouloop_kmod_nop_step(const iouloop_kmod_step_args* a) { return run_step<nop::policy>(a); }
extern "C" const unsigned long iouloop_kmod_nop_region_bytes = iouloop::policy_traits<nop::policy>::region_bytes;
