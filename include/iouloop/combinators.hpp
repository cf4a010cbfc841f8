// iouloop/combinators.hpp — build a step from stages, at compile time.
//
// A stage is any type with `template <class Loop> static int step(Loop&)`:
// loop_continue passes to the next stage, anything else ends the step with
// that value. Everything is static and always-inline, so a composed step is
// the code one would write by hand (tests/zero_cost_test.cc checks the BPF
// instruction counts).
//
//   struct policy : sequence<drain<dispatch<ud, on<tag::nop, count>>>,
//                            stop_when<all_done>, refill<more_nops>,
//                            wait_for<1>> {
//     using params_type = params;
//   };
#pragma once

#include "iouloop/policy.hpp"

namespace iouloop {

// Runs the stages in order; the first that does not return loop_continue
// ends the step with its value.
template <class... Stages>
struct sequence {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    int r = loop_continue;
    (void)(((r = Stages::step(loop)) == loop_continue) && ...);
    return r;
  }
};

// Walks up to Batch ready CQEs, handing each to Handler::on_cqe(loop, cqe),
// and consumes them. CQEs beyond the batch wait for the next step.
template <class Handler, u32 Batch = 16>
struct drain {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    for (cqe_view c : loop.cq.template batch<Batch>()) Handler::on_cqe(loop, c);
    return loop_continue;
  }
};

// One case of dispatch: CQEs tagged `Tag` go to H::on_cqe(loop, cqe, payload).
template <auto Tag, class H>
struct on {
  static constexpr auto tag = Tag;
  using handler = H;
};

// A CQE handler that decodes the user_data tag and calls the matching case.
// CQEs with no matching case go to Otherwise::on_cqe(loop, cqe), if given.
struct ignore {
  template <class Loop>
  IOULOOP_INLINE static void on_cqe(Loop&, cqe_view) {}
};
template <class UserData, class... Cases>
struct dispatch {
  template <class Loop>
  IOULOOP_INLINE static void on_cqe(Loop& loop, cqe_view c) {
    const auto tag = UserData::tag_of(c.user_data());
    const auto payload = UserData::payload_of(c.user_data());
    (void)((tag == Cases::tag ? (Cases::handler::on_cqe(loop, c, payload), true) : false) || ...);
  }
};
template <class UserData, class Otherwise, class... Cases>
struct dispatch_or {
  template <class Loop>
  IOULOOP_INLINE static void on_cqe(Loop& loop, cqe_view c) {
    const auto tag = UserData::tag_of(c.user_data());
    const auto payload = UserData::payload_of(c.user_data());
    bool hit = ((tag == Cases::tag ? (Cases::handler::on_cqe(loop, c, payload), true) : false) || ...);
    if (!hit) Otherwise::on_cqe(loop, c);
  }
};

// Calls Producer::produce(loop) up to Batch times, while it returns true
// (each call prepares one request, possibly a linked chain of SQEs, with
// loop.sq.next()), then submits. If the producer has
// `static void submitted(Loop&, int result)`, it is told the submit result.
template <class Producer, u32 Batch = 16>
struct refill {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    for (u32 i = 0; i < Batch; ++i)
      if (!Producer::produce(loop)) break;
    int r = loop.submit();
    if constexpr (requires { Producer::submitted(loop, r); }) Producer::submitted(loop, r);
    return loop_continue;
  }
};

// Ends the loop (loop_stop) once Pred::holds(loop) is true.
template <class Pred>
struct stop_when {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    return Pred::holds(loop) ? loop_stop : loop_continue;
  }
};

// Asks to sleep until N more CQEs are ready (see loop::wait_cqes).
template <u32 N>
struct wait_for {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    loop.wait_cqes(N);
    return loop_continue;
  }
};

}  // namespace iouloop
