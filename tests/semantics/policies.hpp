// Policies for the loop-semantics table (tests/semantics/cases.hpp). They
// compile for both engines: the userspace engine runs them on the host, the
// BPF build (tests/semantics/programs.bpf.cc) turns each into a program.
#pragma once

#include <iouloop/combinators.hpp>

namespace sem {
using namespace iouloop;

struct params {
  u32 steps;            // steps taken (reset by the host between runs)
  u32 limit;            // a bound, so a broken engine fails instead of hanging
  s32 value;            // what return_value returns
  u32 completed;        // CQEs seen
  u32 submitted;        // SQEs submitted
  s32 last_res;         // res of the last CQE
  s32 submit_ret;       // the last submit result
  u32 empty_wakes;      // steps that found no CQE after asking to sleep
  u32 first_wait_idx;   // cq_wait_idx as the run's first step saw it
  u32 second_wait_idx;  // ... and the second step
  u32 max_ready;        // most CQEs seen ready at once
  u32 phase;
  u32 resume;         // set by the host before a run that should finish the work
  u32 rounds;         // rounds wanted (timer_chain, assumes_full_batch)
  u32 round;          // rounds done
  u32 short_batches;  // steps that found fewer CQEs than they had waited for
  abi::kernel_timespec ts[3];
  s32 fail_with;       // staged_value: loop.fail() with this in the third step
  u32 errors;          // CQEs with res < 0 (submit_count)
  s32 error_res;       // ... the res of the last of them
  u32 empty_run;       // interrupted_sleep: steps in a row, in one io_uring_enter, that found nothing new
  u32 most_empty_run;  // ... the longest such run
  s32 read_fd;         // assumes_full_batch, value 2: the pipe its reads wait on
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
// Also the busy loop the signal cases interrupt between steps.
struct continue_until_limit {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.steps++;
    return l.params.steps >= l.params.limit ? loop_stop : loop_continue;
  }
};

// iouloop's exit record (not a kernel rule): in the third step, the second
// stage of a sequence<> returns `value`, or loop.fail(fail_with) when set.
struct count_step {
  template <class Loop>
  static int step(Loop& l) {
    l.params.steps++;
    return loop_continue;
  }
};
struct value_at_third {
  static constexpr u32 fail_line = __LINE__ + 4;  // the line of the l.fail below
  template <class Loop>
  static int step(Loop& l) {
    if (l.params.steps < 3) return loop_continue;
    if (l.params.fail_with) return l.fail(l.params.fail_with);
    return l.params.value;
  }
};
struct staged_value : sequence<count_step, value_at_third> {
  using params_type = params;
  static constexpr u32 fail_line = value_at_third::fail_line;
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

// Consumes up to N CQEs: counts them and keeps the last result.
template <u32 N, class Loop>
IOULOOP_INLINE void reap(Loop& l, params& p) {
  for (cqe_view c : l.cq.template batch<N>()) {
    p.completed++;
    p.last_res = c.res();
  }
}

// Arms timer `i` (p.ts[i], `ms` from now); false when the SQ is full.
template <class Loop>
IOULOOP_INLINE bool arm_timer(Loop& l, params& p, u32 i, u32 ms, u32 payload) {
  set_ms(p.ts[i], ms);
  abi::sqe* s = l.sq.next();
  if (!s) return false;
  prep_timeout(*s, l.user_addr(p.ts[i]), 0, 0, ud::make(tag::timer, payload));
  return true;
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
    reap<4>(l, p);
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
// inline completions are visible to the next step. `value` N > 0 makes the
// N-th of `rounds` NOPs (3 when 0) an SQE that fails to start (an opcode
// past IORING_OP_LAST): it gets its error CQE, and whether the SQEs after
// it in the same submission go too depends on IORING_SETUP_SUBMIT_ALL. The
// step waits for as many CQEs as the submit said it took.
struct submit_count {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps == 1) {
      const u32 n = p.rounds ? p.rounds : 3;
      for (u32 i = 0; i < n && i < 8; ++i) {
        abi::sqe* s = l.sq.next();
        if (!s) break;
        prep_nop(*s, ud::make(tag::nop, i));
        if (s32(i + 1) == p.value) s->opcode = 0xff;
      }
      p.submit_ret = l.submit();
      if (p.submit_ret <= 0) return loop_stop;
      l.wait_cqes(u32(p.submit_ret));
      return loop_continue;
    }
    for (cqe_view c : l.cq.template batch<8>()) {
      p.completed++;
      p.last_res = c.res();
      if (c.res() < 0) {
        p.errors++;
        p.error_res = c.res();
      }
    }
    if (p.completed >= u32(p.submit_ret) || p.steps > p.limit) return loop_stop;
    l.wait_cqes(u32(p.submit_ret) - p.completed);
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
    reap<64>(l, p);
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
    // A step may run with nothing new (a spurious wake-up): only the run the
    // host marked as the resumption cancels the timer.
    if (p.phase == 1 && p.resume) {
      p.phase = 2;
      abi::sqe* s = l.sq.next();
      if (!s) return loop_stop;
      prep_cancel(*s, ud::make(tag::timer, 0), 0, ud::make(tag::cancel, 0));
      l.submit();
    }
    // iou_loop_params is zeroed for each io_uring_enter (__io_run_loop):
    // a step that finds no wait index is the first of an enter.
    const bool first_of_enter = l.cq_wait_idx() == 0;
    u32 seen = 0;
    for (cqe_view c : l.cq.template batch<4>()) {
      p.completed++;
      seen++;
      if (ud::tag_of(c.user_data()) == tag::timer) p.last_res = c.res();
    }
    if (first_of_enter || seen) {
      p.empty_run = 0;
    } else if (++p.empty_run > p.most_empty_run) {
      p.most_empty_run = p.empty_run;
    }
    // Before the resumption, a CQE can only be the 30 s timer's: the signal
    // did not end the sleep. Stop, so that the case fails instead of hanging.
    if (p.completed >= 2 || (p.completed && !p.resume) || p.steps > p.limit) return loop_stop;
    l.wait_cqes(1);
    return loop_continue;
  }
};

// Rule (loop.c __io_run_loop: task_sigpending after the wait, whatever the
// wait returned): a handled signal that arrives while completions are
// posted ends the run with -EINTR. Two timers, one short (value ms) and one
// long (limit ms); the step waits for both and consumes nothing until both
// are there, so the short one's CQE sits in the CQ when the signal comes.
struct signal_with_completions {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.phase == 0) {
      p.phase = 1;
      if (!arm_timer(l, p, 0, u32(p.value), 0) || !arm_timer(l, p, 1, p.limit, 1)) return loop_stop;
      p.submit_ret = l.submit();
      l.wait_cqes(2);
      return loop_continue;
    }
    if (l.cq.ready() < 2) {
      l.wait_cqes(2);
      return loop_continue;
    }
    reap<4>(l, p);
    return loop_stop;
  }
};

// Rule (the kernel discards a signal whose action is to ignore it at
// generation, kernel/signal.c prepare_signal, so it never makes
// task_sigpending true): a chain of short sleeps under a storm of ignored
// signals ends normally. Each step arms a 50 us timer and sleeps on it,
// until the host sets `resume`.
struct timer_chain {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    reap<4>(l, p);
    // Until the host says "enough" (resume), with rounds as a bound.
    if (p.completed >= p.rounds || (p.resume && p.submitted == p.completed)) return loop_stop;
    if (p.submitted > p.completed) {  // woken before the timer: sleep again
      l.wait_cqes(1);
      return loop_continue;
    }
    p.ts[0].tv_sec = 0;
    p.ts[0].tv_nsec = 50000;
    abi::sqe* s = l.sq.next();
    if (!s) return loop_stop;
    prep_timeout(*s, l.user_addr(p.ts[0]), 0, 0, ud::make(tag::timer, p.submitted));
    p.submitted++;
    p.submit_ret = l.submit();
    l.wait_cqes(1);
    return loop_continue;
  }
};

// Rule (loop.c: io_run_local_work_locked every iteration, whatever
// IORING_SETUP_TASKRUN_FLAG says): a step that never asks to sleep still
// sees its completions. Arms a timer (value ms), then polls the CQ.
struct busy_poll {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.phase == 0) {
      p.phase = 1;
      if (!arm_timer(l, p, 0, u32(p.value), 0)) return loop_stop;
      p.submit_ret = l.submit();
      return loop_continue;
    }
    reap<4>(l, p);
    if (p.completed >= 1 || p.steps >= p.limit) return loop_stop;
    return loop_continue;
  }
};

// A policy that assumes "after wait_cqes(3), 3 CQEs are ready". The kernel
// does not promise it (loop.c io_loop_wait is one schedule(): task work that
// is not lazy wakes the loop before the target), so the policy counts the
// steps where the assumption failed. Rounds of three timers 10 ms apart
// (value 0), three NOPs run in io-wq (value 1) or three one-byte reads of
// the pipe read_fd, which the test fills while the loop sleeps (value 2).
struct assumes_full_batch {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps > p.limit) return loop_stop;
    if (p.phase == 1) {
      {  // The assumption: the batch is complete.
        auto b = l.cq.template batch<4>();
        if (b.size() < 3) p.short_batches++;
        for (cqe_view c : b) {
          p.completed++;
          p.last_res = c.res();
        }
      }  // the batch releases its CQEs here
      if (p.completed < 3 * (p.round + 1)) {
        l.wait_cqes(3 * (p.round + 1) - p.completed);
        return loop_continue;
      }
      p.round++;
      p.phase = 0;
    }
    if (p.round >= p.rounds) return loop_stop;
    for (u32 i = 0; i < 3; ++i) {
      abi::sqe* s = l.sq.next();
      if (!s) return loop_stop;
      if (p.value == 0) {  // timers 10 ms apart
        set_ms(p.ts[i], 10 * (i + 1));
        prep_timeout(*s, l.user_addr(p.ts[i]), 0, 0, ud::make(tag::timer, i));
      } else if (p.value == 1) {  // NOPs that complete in io-wq, close together
        prep_nop(*s, ud::make(tag::nop, i)).async();
      } else {  // reads that wait for the pipe (the timespecs are their buffers)
        prep_read(*s, p.read_fd, l.user_addr(p.ts[i]), 1, 0, ud::make(tag::nop, i));
      }
    }
    p.submit_ret = l.submit();
    p.phase = 1;
    l.wait_cqes(3);
    return loop_continue;
  }
};

}  // namespace sem
