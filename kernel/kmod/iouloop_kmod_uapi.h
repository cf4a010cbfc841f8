/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* The ioctls of /dev/iouloop, shared by the module and the host side. */
#ifndef IOULOOP_KMOD_UAPI_H
#define IOULOOP_KMOD_UAPI_H

#include <linux/ioctl.h>

#define IOULOOP_KMOD_VERSION 1
/* Returns IOULOOP_KMOD_VERSION. */
#define IOULOOP_KMOD_IOC_VERSION _IO('u', 0x40)

#endif
