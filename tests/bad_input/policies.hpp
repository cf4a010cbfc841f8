// Policies for the bad-input table (tests/bad_input/cases.hpp); they compile
// for both engines.
#pragma once

#include <iouloop/combinators.hpp>

namespace bad {
using namespace iouloop;

struct params {
  u32 steps;
  u32 limit;
  u32 prepared;    // SQEs the step obtained
  s32 submit_ret;  // what the submission returned
  u32 completed;
};

// Asks for twice as many SQEs as the SQ holds, in one step.
struct oversubscribe {
  using params_type = params;
  static constexpr u32 want = 512;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    if (p.steps == 1) {
      for (u32 i = 0; i < want; ++i) {
        abi::sqe* s = l.sq.next();
        if (!s) break;
        prep_nop(*s, udata::from_raw(i));
        p.prepared++;
      }
      p.submit_ret = l.submit();
    }
    for (cqe_view c : l.cq.template batch<64>()) {
      (void)c;
      p.completed++;
    }
    if (p.completed >= p.prepared || p.steps > p.limit) return loop_stop;
    l.wait_cqes(1);
    return loop_continue;
  }
};

// Keeps one NOP in flight forever: only an error or a signal ends it.
struct forever {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    params& p = l.params;
    p.steps++;
    for (cqe_view c : l.cq.template batch<4>()) {
      (void)c;
      p.completed++;
    }
    if (p.steps > p.limit) return loop_stop;
    if (abi::sqe* s = l.sq.next()) prep_nop(*s, udata{});
    p.submit_ret = l.submit();
    l.wait_cqes(1);
    return loop_continue;
  }
};

}  // namespace bad
