/* iouloop/layout.h — where things are in the two ring regions, and how
 * large those regions are. Plain C, so that hand-written C programs
 * (bench/nop_c.bpf.c) and C++ (iouloop::ring_layout, iouloop/ring.hpp) share
 * one definition. The BPF side keeps it as `const volatile` rodata that the
 * host fills in before load, so every offset and size is a constant the
 * verifier can use to bound ring accesses. */
#ifndef IOULOOP_LAYOUT_H
#define IOULOOP_LAYOUT_H

struct iouloop_ring_layout {
  unsigned int sq_head, sq_tail, sq_flags, sq_array; /* byte offsets in the rings region */
  unsigned int cq_head, cq_tail, cq_cqes, cq_overflow;
  unsigned int sq_entries, cq_entries; /* powers of two */
  unsigned int rings_size;             /* bytes of the rings region (IOU_REGION_CQ) */
  unsigned int sqes_size;              /* bytes of the SQE array (IOU_REGION_SQ) */
  unsigned int setup_flags;            /* IORING_SETUP_* the ring was created with */
};

#endif
