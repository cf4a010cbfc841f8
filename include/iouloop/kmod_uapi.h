/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* The ioctls of /dev/iouloop (kernel/kmod/iouloop_kmod.c), shared by the
 * module and iouloop/engine/kernel.hpp. */
#ifndef IOULOOP_KMOD_UAPI_H
#define IOULOOP_KMOD_UAPI_H

#include <linux/ioctl.h>

#include <linux/types.h>

#define IOULOOP_KMOD_VERSION 5
/* Returns IOULOOP_KMOD_VERSION. */
#define IOULOOP_KMOD_IOC_VERSION _IO('u', 0x40)

/* How a policy is named in the module: the list in
 * kernel/kmod/native_policies.hpp ("nop", "sem_stop_at_once", ...), plus
 * "nop_c", a C stand-in for examples/nop's nop::policy written in
 * kmod_main.c (same params layout). */
#define IOULOOP_KMOD_NAME_MAX 48

struct iouloop_kmod_attach {
  __u32 ring_fd;
  /* What the host was built with, checked against what the module was
   * built with: sizeof(params_type) and the param region's size (and the
   * fingerprint below). */
  __u32 params_bytes;
  __u32 region_bytes;
  __u32 reserved;     /* 0 */
  __u64 params_uaddr; /* the param region's user address (loop.user_addr) */
  /* The sources the host's list was built from (IOULOOP_NATIVE_FINGERPRINT,
   * kernel/kmod/fingerprint.sh), checked against the module's. */
  __u64 fingerprint;
  char policy[IOULOOP_KMOD_NAME_MAX]; /* NUL-terminated */
};

/* Attach a compiled-in policy to the ring ring_fd: 0, or -EBADF (not an
 * io_uring fd), -EOPNOTSUPP (no DEFER_TASKRUN, SQPOLL, IOPOLL, SQE128,
 * CQE32 or CQE_MIXED, or an SQ array), -EBUSY (a loop is attached already:
 * BPF or native), -ENOENT (the module has no policy of that name), -ESTALE
 * (it has one, built with other params or region sizes, or the module was
 * built from other sources than the host: another fingerprint), -EINVAL (no
 * param region registered, or one smaller than the policy's, or reserved not
 * 0). */
#define IOULOOP_KMOD_IOC_ATTACH _IOW('u', 0x41, struct iouloop_kmod_attach)
/* Detach what this module attached to ring_fd (the argument is the fd):
 * 0, or -ENOENT. */
#define IOULOOP_KMOD_IOC_DETACH _IO('u', 0x42)

#endif
