// A user's own policy: one NOP at a time until the counter reaches zero.
#pragma once

#include <iouloop/combinators.hpp>

namespace countdown {
using namespace iouloop;

struct params {
  u32 left;
  u32 seen;
};

struct policy {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    for (cqe_view c : l.cq.template batch<4>()) {
      (void)c;
      l.params.seen++;
    }
    if (l.params.left == 0 && l.params.seen > 0) return loop_stop;
    if (abi::sqe* s = l.sq.next()) {
      prep_nop(*s, udata{});
      l.params.left--;
      l.submit();
    }
    l.wait_cqes(1);
    return loop_continue;
  }
};
}  // namespace countdown
