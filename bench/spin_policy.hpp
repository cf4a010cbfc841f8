// A step that does nothing but count: what one loop iteration costs.
#pragma once

#include <iouloop/policy.hpp>

namespace spin {
struct params {
  iouloop::u32 steps, limit;
};
struct policy {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    return ++l.params.steps >= l.params.limit ? iouloop::loop_stop : iouloop::loop_continue;
  }
};
}  // namespace spin
