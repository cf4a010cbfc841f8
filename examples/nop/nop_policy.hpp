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

struct more_nops {  // one more NOP, while under depth and total
  template <class Loop>
  static bool produce(Loop& loop) {
    params& p = loop.params;
    if (p.submitted >= p.total || p.submitted - p.completed >= p.depth) return false;
    abi::sqe* s = loop.sq.next();
    if (!s) return false;
    prep_nop(*s, ud::make(tag::nop, p.submitted));
    p.submitted++;
    return true;
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
    for (u32 i = 0; i < 32; ++i) {
      if (p.submitted >= p.total || p.submitted - p.completed >= p.depth) break;
      abi::sqe* s = loop.sq.next();
      if (!s) break;
      prep_nop(*s, ud::make(tag::nop, p.submitted));
      p.submitted++;
    }
    loop.submit();
    loop.wait_cqes(1);
    return loop_continue;
  }
};

}  // namespace nop
