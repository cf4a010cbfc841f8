/* SPDX-License-Identifier: GPL-2.0 */
/* Between kernel/kmod/iouloop_kmod.c (C, kbuild) and the policies compiled
 * as freestanding C++ (kernel/kmod/policies.cc): what one step gets. */
#ifndef IOULOOP_KMOD_STEP_H
#define IOULOOP_KMOD_STEP_H

#include "iouloop/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iouloop_kmod_step_args {
  void* ctx;                                /* struct io_ring_ctx *, for submission */
  unsigned char *rings, *sqes, *region;     /* kernel pointers of the three regions */
  unsigned long region_bytes;               /* size of the param region */
  unsigned long long params_uaddr;          /* its user address (0: unknown) */
  const struct iouloop_ring_layout* layout; /* offsets in `rings`, from struct io_rings */
  unsigned int* cq_wait_idx;                /* &iou_loop_params.cq_wait_idx */
};

int iouloop_kmod_submit_sqes(void* ctx, unsigned int nr);

/* One policy compiled into the module (kernel/kmod/policies.cc makes the
 * table from kernel/kmod/native_policies.hpp). */
struct iouloop_kmod_policy {
  const char* name;
  int (*step)(const struct iouloop_kmod_step_args* a);
  unsigned long params_bytes, region_bytes;
};
extern const struct iouloop_kmod_policy iouloop_kmod_policies[];
extern const unsigned long iouloop_kmod_policy_count;
/* IOULOOP_NATIVE_FINGERPRINT of the list the module was built from. */
extern const unsigned long long iouloop_kmod_fingerprint;

#ifdef __cplusplus
}
#endif
#endif
