// A scripted policy that records, step by step, what it saw and did, for the
// per-step differential test (tests/fuzz/trace_diff_test.cc). It runs NOP
// workloads only: NOPs complete inline during submission and linked NOPs
// complete through the ring's deferred task work, all in the task that runs
// the loop, so the kernel is deterministic and both engines must produce the
// same trace, step for step.
//
// The host writes a script (one op per step, repeating) and a step limit;
// each step records one entry. Compiles for BPF (tests/fuzz/trace_programs.bpf.cc).
#pragma once

#include <iouloop/combinators.hpp>

namespace trace {
using namespace iouloop;

inline constexpr u32 max_steps = 256;   // entries recorded (the limit is at most this)
inline constexpr u32 script_len = 64;   // ops; step s runs script[s % script_len]
inline constexpr u32 max_nops = 32;     // NOPs one step prepares at most
inline constexpr u32 max_consume = 64;  // CQEs one step consumes at most

// Where cq_wait_idx goes after the step.
enum wait_mode : u8 {
  wait_from_head = 0,  // head (after consuming) + n: like wait_cqes(n)
  wait_from_tail = 1,  // tail (after submitting) + n
  wait_behind = 2,     // tail - n: at or before the tail, no sleep
  wait_keep = 3,       // leave cq_wait_idx as the step found it
};
enum action : u8 { act_continue = 0, act_stop = 1, act_invalid = 2 };

// One step of the script.
struct op {
  u8 nops;     // NOPs to prepare, 0..max_nops
  u8 chain;    // NOPs per linked chain (0 or 1: unlinked)
  u8 consume;  // CQEs to consume at most (capped by max_consume)
  u8 wait;     // n for the wait mode; capped so the CQEs can come
  u8 mode;     // wait_mode
  u8 act;      // action
  u8 pad[2];
};

inline constexpr s32 no_submit = -1000000;  // submit_ret when the step prepared nothing

// What one step saw and did.
struct entry {
  u32 run;         // which run() (io_uring_enter) of the test
  u32 head, tail;  // CQ at step start
  u32 wait_in;     // cq_wait_idx as the step found it
  u32 sq_space;    // free SQ slots at step start
  u32 consumed;    // CQEs consumed
  u32 cqe_hash;    // user_data and res of the consumed CQEs, in order
  u32 first_ud;    // user_data of the first and last CQE consumed
  u32 last_ud;
  s32 submit_ret;  // what submission returned (no_submit: none)
  u32 tail_after;  // CQ tail after submitting
  u32 wait_out;    // cq_wait_idx left for the kernel
  s32 ret;         // the step's return value
  u32 pad;
};

struct params {
  // set by the host
  u32 limit;       // steps in all; the step after the last returns STOP
  u32 run;         // the host's run() counter
  u32 tidy;        // 1: never ask to sleep while posted CQEs are left unconsumed,
                   //    nor for more CQEs than the CQ holds
  u32 cq_entries;  // the ring's CQ size
  // state
  u32 steps;      // steps taken so far
  u32 submitted;  // SQEs the kernel took (each gives one CQE)
  u32 completed;  // CQEs consumed
  u32 next_ud;    // user_data of the next NOP
  op script[script_len];
  entry trace[max_steps];
};

enum class tag : u8 { nop = 1 };
using ud = user_data<tag, u32>;

struct policy {
  using params_type = params;
  static constexpr usize param_region_bytes = 16384;

  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    if (p.steps >= p.limit || p.steps >= max_steps) return loop_stop;
    entry& e = p.trace[index_below<max_steps>(p.steps)];
    const op o = p.script[index_below<script_len>(p.steps)];
    p.steps++;
    e.run = p.run;
    e.head = l.cq.head();
    e.tail = l.cq.tail();
    e.wait_in = l.cq_wait_idx();
    e.sq_space = l.sq.space();

    // Consume up to o.consume CQEs.
    const u32 ready = e.tail - e.head;
    u32 want = o.consume < max_consume ? o.consume : max_consume;
    if (want > ready) want = ready;
    u32 hash = 0, first = 0, last_ud = 0;
    for (u32 i = 0; i < max_consume; ++i) {
      if (i >= want) break;
      cqe_view c = l.cq.at(e.head + i);
      hash = hash * 0x01000193u ^ u32(c.user_data().raw());
      hash = hash * 0x01000193u ^ u32(c.res());
      if (i == 0) first = ud::payload_of(c.user_data());
      last_ud = ud::payload_of(c.user_data());
    }
    e.first_ud = first;
    e.last_ud = last_ud;
    if (want) l.cq.advance(want);
    e.consumed = want;
    e.cqe_hash = hash;
    p.completed += want;

    // Prepare o.nops NOPs in chains of o.chain, and submit them.
    const u32 n = o.nops < max_nops ? o.nops : max_nops;
    const u32 chain = o.chain > 1 ? o.chain : 1;
    abi::sqe* last = nullptr;
    u32 in_chain = 0;
    for (u32 i = 0; i < max_nops; ++i) {
      if (i >= n) break;
      abi::sqe* s = l.sq.next();
      if (!s) break;
      prep_nop(*s, ud::make(tag::nop, p.next_ud++));
      if (++in_chain < chain) {
        s->flags |= abi::sqe_flag::io_link;
      } else {
        in_chain = 0;
      }
      last = s;
    }
    if (last) last->flags &= u8(~abi::sqe_flag::io_link);  // every chain ends in this step
    if (last) {
      e.submit_ret = l.submit();
      if (e.submit_ret > 0) p.submitted += u32(e.submit_ret);
    } else {
      e.submit_ret = no_submit;
    }
    e.tail_after = l.cq.tail();

    // Ask for CQEs that will come: those not yet posted, or in the overflow
    // list, or behind linked NOPs still in task work.
    const u32 posted = e.tail_after - l.cq.head();
    const u32 to_come = p.submitted - p.completed - posted;
    const u32 w = o.wait;
    if (o.mode == wait_from_head) {
      const u32 room = posted + to_come;
      l.set_cq_wait_idx(l.cq.head() + (w < room ? w : room));
    } else if (o.mode == wait_from_tail) {
      l.set_cq_wait_idx(e.tail_after + (w < to_come ? w : to_come));
    } else if (o.mode == wait_behind) {
      l.set_cq_wait_idx(e.tail_after - w);
    }
    if (p.tidy && s32(l.cq_wait_idx() - e.tail_after) > 0) {
      if (posted > 0)
        l.set_cq_wait_idx(e.tail_after);
      else if (l.cq_wait_idx() - e.tail_after > p.cq_entries)
        l.set_cq_wait_idx(e.tail_after + p.cq_entries);
    }
    e.wait_out = l.cq_wait_idx();

    e.ret = o.act == act_stop ? loop_stop : (o.act == act_invalid ? 7 : loop_continue);
    return e.ret;
  }
};

}  // namespace trace
