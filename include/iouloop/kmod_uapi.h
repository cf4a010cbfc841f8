/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* The ioctls of /dev/iouloop (kernel/kmod/iouloop_kmod.c), shared by the
 * module and iouloop/engine/kernel.hpp. */
#ifndef IOULOOP_KMOD_UAPI_H
#define IOULOOP_KMOD_UAPI_H

#include <linux/ioctl.h>

#include <linux/types.h>

#define IOULOOP_KMOD_VERSION 3
/* Returns IOULOOP_KMOD_VERSION. */
#define IOULOOP_KMOD_IOC_VERSION _IO('u', 0x40)

/* The policies compiled into the module. */
enum iouloop_kmod_policy {
  /* A C stand-in for examples/nop's nop::policy (same params layout:
   * total, depth, submitted, completed, errors), until the C++ policy is
   * compiled as kernel code. */
  IOULOOP_KMOD_POLICY_NOP_C = 1,
  /* examples/nop's nop::policy, the C++ header compiled as kernel code
   * (kernel/kmod/policies.cc). NO_SQARRAY rings only. */
  IOULOOP_KMOD_POLICY_NOP = 2,
};

struct iouloop_kmod_attach {
  __u32 ring_fd;
  __u32 policy; /* enum iouloop_kmod_policy */
};

/* Attach a compiled-in policy to the ring ring_fd: 0, or -EBADF (not an
 * io_uring fd), -EOPNOTSUPP (no DEFER_TASKRUN, SQPOLL, IOPOLL, SQE128 or
 * CQE32), -EBUSY (a loop is attached already: BPF or native), -EINVAL
 * (unknown policy, or the param region is missing or smaller than the
 * policy's params). */
#define IOULOOP_KMOD_IOC_ATTACH _IOW('u', 0x41, struct iouloop_kmod_attach)
/* Detach what this module attached to ring_fd (the argument is the fd):
 * 0, or -ENOENT. */
#define IOULOOP_KMOD_IOC_DETACH _IO('u', 0x42)

#endif
