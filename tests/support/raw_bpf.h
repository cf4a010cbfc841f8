/* The start of a BPF step written in C against the raw ABI (no iouloop C++):
 * the fixed-width types, the structs shared with the host, libbpf's section
 * markers and the two io_uring kfuncs. bench/nop_c.bpf.c and
 * tests/region/region_lookup.bpf.c use it. */
#ifndef IOULOOP_TESTS_SUPPORT_RAW_BPF_H
#define IOULOOP_TESTS_SUPPORT_RAW_BPF_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#include "iouloop/bpf/shared.h" /* the structs shared with the host: one definition */

#define SEC(name) __attribute__((section(name), used))
#define __ksym __attribute__((section(".ksyms")))

extern int bpf_io_uring_submit_sqes(struct iou_ctx* ctx, __u32 nr) __ksym;
extern __u8* bpf_io_uring_get_region(struct iou_ctx* ctx, __u32 id, const unsigned long size) __ksym;

#endif
