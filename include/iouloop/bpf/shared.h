/* iouloop/bpf/shared.h — the structs a BPF object and its host loader both
 * read: the kernel's struct_ops type, the rodata the host fills in before
 * load, and the per-program metadata. Plain C at global scope (they reach
 * BTF), so that C++ (bpf/shared.hpp) and hand-written C programs
 * (bench/nop_c.bpf.c) include the one definition. */
#ifndef IOULOOP_BPF_SHARED_H
#define IOULOOP_BPF_SHARED_H

#include "iouloop/layout.h"

/* ---- kernel types, as named in the kernel's BTF --------------------------- */
/* The kernel's iou_ctx is an empty struct (never dereferenced). It must be a */
/* STRUCT here too, not a forward declaration: libbpf matches kfunc */
/* prototypes kind by kind. */
struct iou_ctx {};
struct iou_loop_params {
  unsigned int cq_wait_idx;
};
struct io_uring_bpf_ops {
  int (*loop_step)(struct iou_ctx*, struct iou_loop_params*);
  unsigned int ring_fd; /* set by the host before load */
  void* priv;           /* the kernel's */
};

/* What the host fills in before load; one per object (an object is loaded */
/* for one ring). */
struct iouloop_bpf_config {
  struct iouloop_ring_layout layout;
  unsigned long long params_uaddr; /* user address of the param region */
};

/* Per program: what the host checks before attaching, so that an object */
/* built for another policy is refused by name instead of corrupting memory. */
struct iouloop_policy_meta {
  char name[48];
  unsigned int params_bytes;
  unsigned int region_bytes;
  /* 0 and 0: for any ring. Else the ring shape the step was compiled for */
  /* (IOULOOP_BPF_RING_VARIANT): the host refuses to run it on another. */
  unsigned int sq_entries, cq_entries;
};

#endif
