// The NOP pipeline written by hand in C against the raw ABI: the baseline the
// C++ policy (examples/nop/nop_policy.hpp) is measured against. Same logic:
// reap up to 32 CQEs, stop when all completed, refill as many as depth,
// total and the SQ allow (at most 32), submit, sleep until one more CQE.
//
// It reads the same rodata (iouloop_config) and metadata layout as
// IOULOOP_BPF_POLICY, so the same host engine loads it.

#include "tests/support/raw_bpf.h"

SEC(".rodata.iouloop_config") const volatile struct iouloop_bpf_config iouloop_config = {};

struct nop_params {
  __u32 total, depth, submitted, completed, errors;
};

struct sqe {
  __u8 opcode, flags;
  __u16 ioprio;
  int fd;
  __u64 off, addr;
  __u32 len, op_flags;
  __u64 user_data;
  __u16 buf_index, personality;
  __u32 file_index;
  __u64 addr3, pad2;
};
struct cqe {
  __u64 user_data;
  int res;
  __u32 flags;
};

#define TAG_NOP 1ull
#define SQ_REWIND (1u << 20)

SEC("struct_ops.s/nop_c_step")
int nop_c_step(unsigned long long* ctx) {
  struct iou_ctx* c = (struct iou_ctx*)ctx[0];
  struct iou_loop_params* lp = (struct iou_loop_params*)ctx[1];
  __u8* rings = bpf_io_uring_get_region(c, 1, iouloop_config.layout.rings_size);
  __u8* sqes = bpf_io_uring_get_region(c, 2, iouloop_config.layout.sqes_size);
  struct nop_params* p = (struct nop_params*)bpf_io_uring_get_region(c, 0, sizeof(struct nop_params));
  if (!rings || !sqes || !p) return -1;

  __u32 cq_mask = iouloop_config.layout.cq_entries - 1;
  __u32* cq_head = (__u32*)(rings + iouloop_config.layout.cq_head);
  __u32 head = *cq_head;
  __u32 ready = *(volatile __u32*)(rings + iouloop_config.layout.cq_tail) - head;
  __u32 n = ready < 32 ? ready : 32;
  for (__u32 i = 0; i < n; i++) {
    struct cqe* e = (struct cqe*)(rings + iouloop_config.layout.cq_cqes + ((head + i) & cq_mask) * 16);
    if ((e->user_data >> 56) == TAG_NOP) {
      p->completed++;
      if (e->res < 0) p->errors++;
    }
  }
  if (n) {
    head += n;
    *(volatile __u32*)cq_head = head;
  }
  if (p->completed >= p->total) return 1;

  int rewind = (iouloop_config.layout.setup_flags & SQ_REWIND) != 0;
  __u32 entries = iouloop_config.layout.sq_entries;
  __u32* sq_tail = (__u32*)(rings + iouloop_config.layout.sq_tail);
  __u32 tail = rewind ? 0 : *sq_tail;
  __u32 start = tail;
  // How many NOPs now: depth and total allow, the SQ has room, at most 32.
  __u32 in_flight = p->submitted - p->completed, left = p->total - p->submitted;
  __u32 want = in_flight >= p->depth ? 0 : (p->depth - in_flight < left ? p->depth - in_flight : left);
  __u32 room = rewind ? entries : entries - (tail - *(volatile __u32*)(rings + iouloop_config.layout.sq_head));
  if (want > room) want = room;
  if (want > 32) want = 32;
  asm volatile("" : "+r"(want));
  for (__u32 i = 0; i < want; i++) {
    struct sqe* s = (struct sqe*)(sqes + (tail & (entries - 1)) * 64);
    s->opcode = 0;
    s->flags = 0;
    s->ioprio = 0;
    s->fd = -1;
    s->off = 0;
    s->addr = 0;
    s->len = 0;
    s->op_flags = 0;
    s->user_data = (TAG_NOP << 56) | p->submitted;
    s->buf_index = 0;
    s->personality = 0;
    s->file_index = 0;
    s->addr3 = 0;
    s->pad2 = 0;
    tail++;
    p->submitted++;
  }
  __u32 pending = tail - start;
  if (!rewind) {
    *(volatile __u32*)sq_tail = tail;
    pending = tail - *(volatile __u32*)(rings + iouloop_config.layout.sq_head);
  }
  if (pending) bpf_io_uring_submit_sqes(c, pending);
  lp->cq_wait_idx = head + 1;
  return 0;
}

SEC(".struct_ops.link")
struct io_uring_bpf_ops nop_c_ops = {
    .loop_step = (void*)nop_c_step,
};
SEC(".rodata.iouloop")
const struct iouloop_policy_meta nop_c_meta = {"nop_c", sizeof(struct nop_params), 4096};
SEC("license") const char prog_license[] = "GPL";
