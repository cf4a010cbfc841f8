// Policies for the loop-semantics table (tests/semantics/cases.hpp). They
// compile for both engines: the userspace engine runs them on the host, the
// BPF build (tests/semantics/bpf_programs.cc) turns each into a program.
#pragma once

#include <iouloop/combinators.hpp>

namespace sem {
using namespace iouloop;

struct params {
  u32 steps;           // steps taken (reset by the host between runs)
  u32 limit;           // a bound, so a broken engine fails instead of hanging
  s32 value;           // what return_value returns
  u32 completed;       // CQEs seen
  u32 submitted;       // SQEs submitted
  s32 last_res;        // res of the last CQE
  s32 submit_ret;      // the last submit result
  u32 empty_wakes;     // steps that found no CQE after asking to sleep
  u32 first_wait_idx;  // cq_wait_idx as the run's first step saw it
  u32 second_wait_idx; // ... and the second step
  u32 max_ready;       // most CQEs seen ready at once
  u32 phase;
  abi::kernel_timespec ts[3];
};

enum class tag : u8 { nop = 1, timer, cancel };
using ud = user_data<tag, u32>;

// Rule: STOP ends the loop; io_uring_enter returns 0.
struct stop_at_once {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.steps++;
    return loop_stop;
  }
};

// Rule: CONTINUE runs the step again (with nothing to wait for, at once).
struct continue_until_limit {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.steps++;
    return l.params.steps >= l.params.limit ? loop_stop : loop_continue;
  }
};

// Rule: any other return value ends the loop with -EINVAL.
struct return_value {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.steps++;
    return l.params.value;
  }
};

IOULOOP_INLINE void set_ms(abi::kernel_timespec& ts, u32 ms) {
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = s64(ms % 1000) * 1000000;
}

// Rule: cq_wait_idx beyond the CQ tail sleeps until the CQEs arrive; the
// wait is a hint, so a few early wake-ups are fine, spinning is not.
struct sleep_until_cqes {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps > p.limit) return loop_stop;
    if (p.steps == 1) {
      // value = how many timers (1..3), 20 ms apart
      u32 n = p.value < 1 ? 1 : (p.value > 3 ? 3 : u32(p.value));
      for (u32 i = 0; i < 3; ++i) {
        if (i >= n) break;
        set_ms(p.ts[i], 20 * (i + 1));
        abi::sqe* s = l.sq.next();
        if (!s) break;
        prep_timeout(*s, l.user_addr(p.ts[i]), 0, 0, ud::make(tag::timer, i));
        p.submitted++;
      }
      p.submit_ret = l.submit();
      l.wait_cqes(n);
      return loop_continue;
    }
    u32 ready = l.cq.ready();
    if (ready > p.max_ready) p.max_ready = ready;
    if (ready == 0) p.empty_wakes++;
    for (cqe_view c : l.cq.template batch<4>()) {
      p.completed++;
      p.last_res = c.res();
    }
    if (p.completed >= p.submitted) return loop_stop;
    l.wait_cqes(p.submitted - p.completed);
    return loop_continue;
  }
};

// Rule: iou_loop_params starts zeroed for each io_uring_enter and keeps its
// value from step to step within one.
struct wait_idx_lifetime {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps == 1) {
      p.first_wait_idx = l.cq_wait_idx();
      // At or before the tail: no sleep, but a value the next step can see.
      l.set_cq_wait_idx(l.cq.tail());
      return loop_continue;
    }
    p.second_wait_idx = l.cq_wait_idx();
    // Leave a value behind, which the next run must not see.
    l.set_cq_wait_idx(0xdead);
    return loop_stop;
  }
};

// Rule: submission returns the number submitted, as io_uring_enter does;
// inline completions are visible to the next step.
struct submit_count {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps == 1) {
      for (u32 i = 0; i < 3; ++i) {
        abi::sqe* s = l.sq.next();
        if (!s) break;
        prep_nop(*s, ud::make(tag::nop, i));
      }
      p.submit_ret = l.submit();
      l.wait_cqes(3);
      return loop_continue;
    }
    for (cqe_view c : l.cq.template batch<8>()) {
      p.completed++;
      p.last_res = c.res();
    }
    if (p.completed >= 3 || p.steps > p.limit) return loop_stop;
    l.wait_cqes(3 - p.completed);
    return loop_continue;
  }
};

// Rule: CQ overflow is flushed by the loop: submit more NOPs than the CQ
// holds without reaping, then reap; every completion still arrives.
struct overflow_flush {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps > p.limit) return loop_stop;
    if (p.phase == 0) {
      for (u32 i = 0; i < 8; ++i) {
        abi::sqe* s = l.sq.next();
        if (!s) break;
        prep_nop(*s, ud::make(tag::nop, p.submitted + i));
      }
      int r = l.submit();
      if (r > 0) p.submitted += u32(r);
      if (p.submitted >= u32(p.value)) p.phase = 1;
      return loop_continue;
    }
    u32 ready = l.cq.ready();
    if (ready > p.max_ready) p.max_ready = ready;
    for (cqe_view c : l.cq.template batch<64>()) {
      p.completed++;
      p.last_res = c.res();
    }
    if (p.completed >= p.submitted) return loop_stop;
    l.wait_cqes(1);
    return loop_continue;
  }
};

// Rule: a signal ends the loop with -EINTR, during a sleep or between steps;
// the ring stays usable and the next run picks up where it left off.
// phase 0: arm a long timer and sleep on it (interrupted);
// phase 1 (next run): cancel the timer and collect both CQEs.
struct interrupted_sleep {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.phase == 0) {
      p.phase = 1;
      set_ms(p.ts[0], 30000);
      abi::sqe* s = l.sq.next();
      if (!s) return loop_stop;
      prep_timeout(*s, l.user_addr(p.ts[0]), 0, 0, ud::make(tag::timer, 0));
      p.submit_ret = l.submit();
      l.wait_cqes(1);
      return loop_continue;
    }
    if (p.phase == 1) {  // only reached by a run after the interruption
      p.phase = 2;
      abi::sqe* s = l.sq.next();
      if (!s) return loop_stop;
      prep_cancel(*s, ud::make(tag::timer, 0), 0, ud::make(tag::cancel, 0));
      l.submit();
    }
    for (cqe_view c : l.cq.template batch<4>()) {
      p.completed++;
      if (ud::tag_of(c.user_data()) == tag::timer) p.last_res = c.res();
    }
    if (p.completed >= 2 || p.steps > p.limit) return loop_stop;
    l.wait_cqes(1);
    return loop_continue;
  }
};

// Rule: a signal is noticed between steps even when the loop never sleeps.
struct busy_until_signal {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.steps++;
    return l.params.steps >= l.params.limit ? loop_stop : loop_continue;
  }
};

}  // namespace sem
