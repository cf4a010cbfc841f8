// A step that asks bpf_io_uring_get_region for what the kernel must refuse
// as well as what it must give, records each answer in the params and
// stops. The rule (io_uring/bpf-ops.c, bpf_io_uring_get_region): the
// region's pointer if the size asked for is at most the region's size
// (io_region_size), NULL if it is larger or the id names no region
// (IOU_REGION_MEM 0, IOU_REGION_CQ 1, IOU_REGION_SQ 2).
//
// The ids are constants here except in the last two look-ups, which take
// theirs from the params: a kernel that inlines the look-up for a constant
// id (kernel/0004-*.patch) must keep the call for those and give the same
// answers for all of them.
//
// Written in C against the raw ABI, with nop::params' layout
// (examples/nop/nop_policy.hpp), so that bpf_engine<nop::policy> loads it
// by name, as it loads bench/nop_c.bpf.c.

#include "tests/support/raw_bpf.h"

SEC(".rodata.iouloop_config") const volatile struct iouloop_bpf_config iouloop_config = {};

#define REGION_BYTES 4096

// nop::params. In: `depth` and `submitted` hold the two variable ids. Out:
// `total` the answers, one bit each (1: a pointer), `completed` 1 once the
// step ran.
struct params {
  __u32 total, depth, submitted, completed, errors;
};

#define GOT(bit, p) ((p) ? (1u << (bit)) : 0u)

SEC("struct_ops.s/region_lookup_step")
int region_lookup_step(unsigned long long* ctx) {
  struct iou_ctx* c = (struct iou_ctx*)ctx[0];
  struct params* p = (struct params*)bpf_io_uring_get_region(c, 0, sizeof(struct params));
  if (!p) return -1;
  __u32 got = 0;
  got |= GOT(0, bpf_io_uring_get_region(c, 0, REGION_BYTES));      // the whole param region
  got |= GOT(1, bpf_io_uring_get_region(c, 0, REGION_BYTES + 1));  // one byte more: NULL
  got |= GOT(2, bpf_io_uring_get_region(c, 1, iouloop_config.layout.rings_size));
  got |= GOT(3, bpf_io_uring_get_region(c, 2, iouloop_config.layout.sqes_size));
  got |= GOT(4, bpf_io_uring_get_region(c, 2, 1u << 20));  // far more than the SQEs: NULL
  got |= GOT(5, bpf_io_uring_get_region(c, 3, 8));         // no region 3: NULL
  got |= GOT(6, bpf_io_uring_get_region(c, 0xffffffffu, 8));
  got |= GOT(7, bpf_io_uring_get_region(c, p->depth, 8));      // a variable id
  got |= GOT(8, bpf_io_uring_get_region(c, p->submitted, 8));  // another
  p->total = got;
  p->completed = 1;
  return 1;  // IOU_LOOP_STOP
}

SEC(".struct_ops.link")
struct io_uring_bpf_ops region_lookup_ops = {
    .loop_step = (void*)region_lookup_step,
};
SEC(".rodata.iouloop")
const struct iouloop_policy_meta region_lookup_meta = {"region_lookup", sizeof(struct params), REGION_BYTES};
SEC("license") const char prog_license[] = "GPL";
