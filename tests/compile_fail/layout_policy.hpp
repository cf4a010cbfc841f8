// The policy whose BPF object (layout_bpf) the layout cases in cases.cc
// compare host params types against: a flat part and nested structs in an
// array, so that checks through nesting are exercised too.
#pragma once

#include <iouloop/policy.hpp>

namespace layout {
using namespace iouloop;

struct iov {
  u64 addr;  // a user address, as the layout check asks
  u32 len, flags;
};
struct params {
  u32 a;
  u32 b;
  iov io[2];
};
struct policy {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.a++;
    return loop_stop;
  }
};
}  // namespace layout
