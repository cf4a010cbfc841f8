// NOP pipeline: keep `depth` NOPs in flight until `total` have completed.
// Built only from the library's combinators; nop_by_hand below is the same
// step written out, kept to show that composition costs nothing.
#pragma once

#include <iouloop/combinators.hpp>

namespace nop {
using namespace iouloop;

struct params {
  u32 total;  // NOPs to complete
  u32 depth;  // NOPs in flight at most
  u32 submitted, completed, errors;
};

enum class tag : u8 { nop = 1 };
using ud = user_data<tag, u32>;

struct count {  // each completion
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    loop.params.completed++;
    if (!c.ok()) loop.params.errors++;
  }
};

struct more_nops {  // as many NOPs as depth and total allow
  template <class Loop>
  static u32 wanted(Loop& loop) {
    const params& p = loop.params;
    const u32 in_flight = p.submitted - p.completed, left = p.total - p.submitted;
    if (in_flight >= p.depth) return 0;
    return p.depth - in_flight < left ? p.depth - in_flight : left;
  }
  template <class Loop>
  static void produce(Loop& loop, abi::sqe& s) {
    prep_nop(s, ud::make(tag::nop, loop.params.submitted++));
  }
};

struct all_done {
  template <class Loop>
  static bool holds(Loop& loop) {
    return loop.params.completed >= loop.params.total;
  }
};

struct policy
    : sequence<reap<dispatch<ud, on<tag::nop, count>>, 32>, stop_when<all_done>, refill<more_nops, 32>, wait_for<1>> {
  using params_type = params;
};

// The same step by hand, for the zero-cost comparison.
struct nop_by_hand {
  using params_type = params;
  template <class Loop>
  static int step(Loop& loop) {
    params& p = loop.params;
    for (cqe_view c : batch<32>(loop)) {
      if (ud::tag_of(c.user_data()) == tag::nop) {
        p.completed++;
        if (!c.ok()) p.errors++;
      }
    }
    if (p.completed >= p.total) return loop_stop;
    const u32 in_flight = p.submitted - p.completed, left = p.total - p.submitted;
    u32 n = in_flight >= p.depth ? 0 : (p.depth - in_flight < left ? p.depth - in_flight : left);
    if (n > loop.sq.space()) n = loop.sq.space();
    if (n > 32) n = 32;
    asm volatile("" : "+r"(n));
    auto sqes = loop.sq.take_in_order();
    for (u32 i = 0; i < n; ++i) prep_nop(sqes.take(), ud::make(tag::nop, p.submitted++));
    loop.submit();
    loop.wait_cqes(1);
    return loop_continue;
  }
};

}  // namespace nop
