// iouloop/combinators.hpp — build a step from stages, at compile time.
//
// A stage is any type with `template <class Loop> static int step(Loop&)`:
// loop_continue passes to the next stage, anything else ends the step with
// that value. Everything is static and inline, so a composed step is the
// code one would write by hand (tests/zero_cost_test.cc checks the BPF
// instruction counts).
//
//   struct policy : sequence<reap<dispatch<ud, on<tag::nop, count>>>,   // CQEs
//                            stop_when<all_done>,                       // end?
//                            refill<more_nops>,                         // SQEs, then submit
//                            wait_for<1>> {                             // sleep
//     using params_type = params;
//   };
//
// The parts and what each expects of its parameters (checked where the
// combinator is named, by the concepts below):
//   reap<H, Batch>         up to Batch ready CQEs, each to H::on_cqe(loop, cqe)
//   dispatch<UD, cases...> a CQE handler: on<Tag, H> cases call
//                          H::on_cqe(loop, cqe, payload); otherwise<H> takes
//                          the rest (H::on_cqe(loop, cqe)); without it they are ignored
//   prepare<P, Batch>      P::produce(loop) up to Batch times while it returns true,
//                          or (counted) P::produce(loop, sqe) min(P::wanted(loop), SQ space, Batch) times
//   submit                 submits what the SQ holds (submit_or_fail: a failure is loop.fail's)
//   refill<P, Batch>       prepare<P, Batch> then submit (P::submitted(loop, result), if P has it)
//   stop_when<Pred>        loop_stop once Pred::holds(loop)
//   wait_for<N>            sleep until N more CQEs are ready
//   sequence<stages...>    the stages in order
#pragma once

#include "iouloop/policy.hpp"

namespace iouloop {

namespace detail {
struct archetype_params {};
// The loop a concept checks a stage's or handler's signature against.
using archetype_loop = loop<concept_backend, archetype_params>;
template <class T>
struct remove_const_t {
  using type = T;
};
template <class T>
struct remove_const_t<const T> {
  using type = T;
};
}  // namespace detail

// `template <class Loop> static int step(Loop&)`.
template <class S>
concept stage = requires(detail::archetype_loop& l) {
  { S::step(l) } -> detail::step_result;
};
// `template <class Loop> static void on_cqe(Loop&, cqe_view)`.
template <class H>
concept cqe_handler = requires(detail::archetype_loop& l, cqe_view c) { H::on_cqe(l, c); };
// `template <class Loop> static void on_cqe(Loop&, cqe_view, Payload)`.
template <class H, class Payload>
concept tagged_cqe_handler = requires(detail::archetype_loop& l, cqe_view c, Payload p) { H::on_cqe(l, c, p); };
// A producer is one of two shapes:
//  - one at a time: `template <class Loop> static bool produce(Loop&)`
//    prepares one request (loop.sq.next(), or reserve<N>(loop) for a
//    chain) and says whether to call it again;
//  - counted: `template <class Loop> static u32 wanted(Loop&)` says once
//    how many single-SQE requests it wants now, and
//    `template <class Loop> static void produce(Loop&, abi::sqe&)` prepares
//    one in the SQE it is handed. prepare<> computes min(wanted, free SQ
//    slots, Batch) once and hands out that many SQEs, with no test per SQE:
//    the cheaper shape when the producer's limits are counts (in flight,
//    left to do).
template <class P>
concept one_at_a_time_producer = requires(detail::archetype_loop& l) {
  { P::produce(l) } -> detail::same_as<bool>;
};
template <class P>
concept counted_producer = requires(detail::archetype_loop& l, abi::sqe& s) {
  { P::wanted(l) } -> detail::same_as<u32>;
  { P::produce(l, s) } -> detail::same_as<void>;
};
template <class P>
concept producer = one_at_a_time_producer<P> || counted_producer<P>;
// `template <class Loop> static bool holds(Loop&)`.
template <class P>
concept predicate = requires(detail::archetype_loop& l) {
  { P::holds(l) } -> detail::same_as<bool>;
};
// A user_data<Tag, Payload> codec.
template <class U>
concept user_data_codec = requires(udata w) {
  typename U::tag_type;
  typename U::payload_type;
  { U::tag_of(w) } -> detail::same_as<typename U::tag_type>;
  { U::payload_of(w) } -> detail::same_as<typename U::payload_type>;
};

template <producer Producer, u32 Batch = 16>
struct refill;
template <predicate Pred>
struct stop_when;
template <u32 N>
struct wait_for;

namespace detail {
// refill<P, B> whose P is not told the submit's result (no submitted()).
template <class S>
inline constexpr bool is_refill = false;
template <class P, u32 B>
inline constexpr bool is_refill<refill<P, B>> = !requires(archetype_loop& l, int r) { P::submitted(l, r); };
template <class S>
inline constexpr bool is_wait_for = false;
template <u32 N>
inline constexpr bool is_wait_for<wait_for<N>> = true;
// A predicate that says it reads the params and the failure state only
// (params_only_view).
template <class P>
inline constexpr bool reads_params_only = requires { requires bool(P::reads_params_only); };
template <class S>
inline constexpr bool is_params_only_stop = false;
template <predicate P>
inline constexpr bool is_params_only_stop<stop_when<P>> = reads_params_only<P>;
// The stages after a refill are stop_when<>s of such predicates, then
// wait_for<N>, last: nothing after the refill can see what its submit did.
template <class... S>
inline constexpr bool only_wait_follows = false;
template <class S>
inline constexpr bool only_wait_follows<S> = is_wait_for<S>;
template <class S, class T, class... Rest>
inline constexpr bool only_wait_follows<S, T, Rest...> = is_params_only_stop<S> && only_wait_follows<T, Rest...>;
// Some refill<> (no submitted()) has only that after it.
template <class... S>
inline constexpr bool ends_in_refill_then_wait = false;
template <class S, class... Rest>
inline constexpr bool ends_in_refill_then_wait<S, Rest...> =
    (is_refill<S> && only_wait_follows<Rest...>) || ends_in_refill_then_wait<Rest...>;
}  // namespace detail

// Runs the stages in order; the first that does not return loop_continue
// ends the step with its value (an invalid one is noted in the exit record,
// with the stage's position).
template <stage... Stages>
struct sequence {
  // (Probe: only for detail::submit_at_end_of_step, which tells this step
  // from one a policy declares over it.)
  template <class Loop, class Probe = void>
  IOULOOP_INLINE static int step(Loop& loop) {
    return run<1, false, Stages...>(loop);
  }

  // For an engine that submits with the same system call that sleeps (the
  // userspace engine; detail::run_one_step): a sequence that is the whole step
  // and ends in refill<P>, wait_for<N> may leave its last submit to the
  // engine, since nothing in the step that runs after it can see it.
  // wait_for<N> counts from the CQ head, which the submit does not move;
  // refill<> ignores the submit's result unless P has submitted() (then the
  // submit stays here); and between the two there may be stop_when<>s whose
  // predicates read only the params (reads_params_only, params_only_view).
  // If one of those ends the step, the engine submits before run() returns.
  using sequence_type = sequence;
  static constexpr bool ends_in_refill_then_wait = detail::ends_in_refill_then_wait<Stages...>;
  template <class Loop>
  IOULOOP_INLINE static int step_submit_at_end(Loop& loop) {
    return run<1, true, Stages...>(loop);
  }

 private:
  template <u32 I, bool AtEnd, class Loop>
  IOULOOP_INLINE static int run(Loop&) {
    return loop_continue;
  }
  template <u32 I, bool AtEnd, class S, class... Rest, class Loop>
  IOULOOP_INLINE static int run(Loop& loop) {
    int r;
    if constexpr (AtEnd && detail::is_refill<S> && detail::only_wait_follows<Rest...>)
      r = S::step_submit_at_end(loop);
    else
      r = S::step(loop);
    if (r != loop_continue) {
      if (r != loop_stop) loop.note_invalid_value(r, I);
      return r;
    }
    return run<I + 1, AtEnd, Rest...>(loop);
  }
};

// Walks up to Batch ready CQEs, handing each to Handler::on_cqe(loop, cqe),
// and consumes them. CQEs beyond the batch wait for the next step.
template <cqe_handler Handler, u32 Batch = 16>
struct reap {
  static_assert(Batch > 0, "reap<H, Batch>: Batch must be at least 1");
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    for (cqe_view c : batch<Batch>(loop)) Handler::on_cqe(loop, c);
    return loop_continue;
  }
};

// One case of dispatch: CQEs tagged `Tag` go to H::on_cqe(loop, cqe, payload).
template <auto Tag, class H>
struct on {
  static constexpr auto tag = Tag;
  using handler = H;
};
// The case for CQEs no on<> case matches: H::on_cqe(loop, cqe).
template <cqe_handler H>
struct otherwise {
  using handler = H;
};

namespace detail {
template <class C>
inline constexpr bool is_otherwise = false;
template <class H>
inline constexpr bool is_otherwise<otherwise<H>> = true;
}  // namespace detail

// A case of dispatch<UD, ...>: on<Tag, H> with a Tag of UD's tag type and H
// a handler of UD's payload, or otherwise<H>.
template <class C, class UD>
concept dispatch_case =
    detail::is_otherwise<C> || (requires {
      C::tag;
      typename C::handler;
    } && traits::is_same<typename detail::remove_const_t<decltype(C::tag)>::type, typename UD::tag_type> &&
                                tagged_cqe_handler<typename C::handler, typename UD::payload_type>);

// A CQE handler that decodes the user_data tag and calls the matching case.
template <user_data_codec UserData, dispatch_case<UserData>... Cases>
struct dispatch {
  static_assert((0 + ... + (detail::is_otherwise<Cases> ? 1 : 0)) <= 1,
                "dispatch<UD, ...>: at most one otherwise<H> case");
  template <class Loop>
  IOULOOP_INLINE static void on_cqe(Loop& loop, cqe_view c) {
    const auto tag = tag_key(c.user_data());
    const auto payload = UserData::payload_of(c.user_data());
    const bool hit = (try_case<Cases>(loop, c, tag, payload) || ...);
    if (!hit) (other<Cases>(loop, c), ...);
  }

 private:
  template <class C, class Loop, class T, class P>
  IOULOOP_INLINE static bool try_case(Loop& loop, cqe_view c, T tag, P payload) {
    if constexpr (detail::is_otherwise<C>) {
      return false;
    } else {
      if (tag != tag_key_of(C::tag)) return false;
      C::handler::on_cqe(loop, c, payload);
      return true;
    }
  }
  // The codec's tag word when it has one (user_data<> does), else its tag.
  IOULOOP_INLINE static auto tag_key(udata w) {
    if constexpr (requires { UserData::tag_word(w); })
      return UserData::tag_word(w);
    else
      return UserData::tag_of(w);
  }
  template <class T>
  IOULOOP_INLINE static constexpr auto tag_key_of(T t) {
    if constexpr (requires(udata w) { UserData::tag_word(w); })
      return static_cast<u64>(static_cast<__underlying_type(T)>(t));
    else
      return t;
  }
  template <class C, class Loop>
  IOULOOP_INLINE static void other(Loop& loop, cqe_view c) {
    if constexpr (detail::is_otherwise<C>) C::handler::on_cqe(loop, c);
  }
};

// The first edition's names, kept to say what replaced them.
template <class Handler, u32 Batch = 16>
struct drain {
  static_assert(detail::always_false<Handler>,
                "iouloop: drain<H, Batch> is now reap<H, Batch> (drain() is the SQE flag IOSQE_IO_DRAIN)");
};
template <class UserData, class Otherwise, class... Cases>
struct dispatch_or {
  static_assert(detail::always_false<UserData>,
                "iouloop: dispatch_or<UD, Otherwise, cases...> is now dispatch<UD, cases..., otherwise<Otherwise>>");
};

// One at a time: calls Producer::produce(loop) up to Batch times, while it
// returns true; each call prepares one request (one SQE, or a chain from
// reserve<N>). Counted: n = min(Producer::wanted(loop), free SQ slots,
// Batch), then Producer::produce(loop, sqe) for each of n SQEs.
template <producer Producer, u32 Batch = 16>
struct prepare {
  static_assert(Batch > 0, "prepare<P, Batch>: Batch must be at least 1");
  static_assert(!(one_at_a_time_producer<Producer> && counted_producer<Producer>),
                "prepare<P, Batch>: P has both produce(loop) and wanted(loop) + produce(loop, sqe): keep one shape");
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    if constexpr (counted_producer<Producer>) {
      u32 n = Producer::wanted(loop);
      const u32 room = loop.sq.space();
      if (n > room) n = room;
      if (n > Batch) n = Batch;
      // One bound for the loop (as in cq_ring::batch_range): the verifier
      // still sees n <= Batch from the min above.
      asm volatile("" : "+r"(n));
      auto sqes = loop.sq.take_in_order();
      for (u32 i = 0; i < n; ++i) Producer::produce(loop, sqes.take());
    } else {
      for (u32 i = 0; i < Batch; ++i)
        if (!Producer::produce(loop)) break;
    }
    return loop_continue;
  }
};

// Submits every SQE the SQ holds (loop.submit()). A failed submission
// leaves head/tail-mode SQEs queued for the next step's submit.
struct submit {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    loop.submit();
    return loop_continue;
  }
};
// The same, and a failed submission is the policy's failure: loop.fail(-errno).
struct submit_or_fail {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    const int r = loop.submit();
    if (r < 0) loop.fail(r);
    return loop_continue;
  }
};

// prepare<Producer, Batch>, then submit. If the producer has
// `static void submitted(Loop&, int result)`, it is told the submit result.
template <producer Producer, u32 Batch>
struct refill {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    prepare<Producer, Batch>::step(loop);
    int r = loop.submit();
    if constexpr (requires { Producer::submitted(loop, r); }) Producer::submitted(loop, r);
    return loop_continue;
  }
  // The last refill of a whole step, followed by wait_for<N> and nothing
  // that can see the submit, when the producer has no submitted()
  // (sequence::step_submit_at_end): the engine may make the submit with
  // the step's sleep (loop.submit_at_end()).
  template <class Loop>
  IOULOOP_INLINE static int step_submit_at_end(Loop& loop) {
    prepare<Producer, Batch>::step(loop);
    loop.submit_at_end();
    return loop_continue;
  }
};

// Ends the loop (loop_stop) once Pred::holds(loop) is true. A predicate
// that declares `static constexpr bool reads_params_only = true;` is handed
// loop.params_only() instead (params_only_view: loop.params, failed(),
// failure()); the userspace engine may then submit with its sleep across it.
template <predicate Pred>
struct stop_when {
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& loop) {
    if constexpr (detail::reads_params_only<Pred>) {
      auto view = loop.params_only();
      return Pred::holds(view) ? loop_stop : loop_continue;
    } else {
      return Pred::holds(loop) ? loop_stop : loop_continue;
    }
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
