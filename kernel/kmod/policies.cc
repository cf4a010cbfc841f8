// SPDX-License-Identifier: GPL-2.0
// The policies compiled into iouloop_kmod.ko: the same policy headers the BPF
// and userspace engines run, compiled freestanding as kernel code (no
// standard library, no exceptions, no RTTI, no FP/SIMD registers, kernel code
// model; kernel/kmod/Kbuild has the flags). The table iouloop_kmod_policies
// comes from the list (native_policies.hpp unless build.sh --list names another); kmod_main.c looks a policy up
// by name at attach and calls its step from the ring's loop_step.
#include "iouloop/kmod_step.h"
#include "iouloop/policy.hpp"
// The list (kernel/kmod/build.sh --list; Kbuild passes it).
#ifndef IOULOOP_NATIVE_LIST
#define IOULOOP_NATIVE_LIST "kernel/kmod/native_policies.hpp"
#endif
#include IOULOOP_NATIVE_LIST
#ifndef IOULOOP_NATIVE_FINGERPRINT
#error \
    "the list of policies does not include its fingerprint header (LIST.fingerprint.h, from kernel/kmod/fingerprint.sh): add #include \"...fingerprint.h\" to it, as kernel/kmod/native_policies.hpp does"
#endif

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
  // Checked at attach; the registered region cannot change while attached.
  if (a->region_bytes < policy_traits<P>::region_bytes) return -1;  // an invalid value: the loop ends, -EINVAL
  kmod_backend backend{a->ctx};
  exit_record& exit = detail::exit_record_in(a->region, policy_traits<P>::region_bytes);
  const volatile u64 uaddr = a->params_uaddr;
  loop<kmod_backend, params_type> l(backend, a->rings, a->sqes, *reinterpret_cast<params_type*>(a->region), uaddr,
                                    *a->layout, a->cq_wait_idx, exit);
  if (detail::stale_wake_guard(l.cq, *a->cq_wait_idx, exit)) return loop_stop;
  return detail::run_one_step<P>(l, exit);
}

}  // namespace

#define IOULOOP_KMOD_ENTRY(name, P)                                              \
  {#name, &run_step<P>, sizeof(typename iouloop::policy_traits<P>::params_type), \
   iouloop::policy_traits<P>::region_bytes},
extern "C" const iouloop_kmod_policy iouloop_kmod_policies[] = {IOULOOP_NATIVE_POLICIES(IOULOOP_KMOD_ENTRY)};
extern "C" const unsigned long long iouloop_kmod_fingerprint = IOULOOP_NATIVE_FINGERPRINT;
extern "C" const unsigned long iouloop_kmod_policy_count =
    sizeof(iouloop_kmod_policies) / sizeof(iouloop_kmod_policies[0]);
