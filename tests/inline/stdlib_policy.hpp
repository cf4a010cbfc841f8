// A policy that includes a standard library header: its BPF build must stop
// at the include and say what to use instead (tools/test.sh builds
// //tests/inline:stdlib_bpf.embed and checks the message).
#pragma once

#include <array>
#include <iouloop/combinators.hpp>

namespace stdlib_user {
using namespace iouloop;
struct params {
  u32 n;
};
struct policy {
  using params_type = params;
  template <class Loop>
  static int step(Loop&) {
    std::array<u32, 4> a{};
    return int(a[0]) + loop_stop;
  }
};
}  // namespace stdlib_user
