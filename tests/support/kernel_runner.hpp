// The native-callback engine as a runner for the shared case tables
// (tests/support/runners.hpp has the others): kernel_engine<P> with the step
// iouloop_kmod.ko compiled from P, in the VM with the module loaded.
//
// A test binary includes the module's list and names its types once:
//   #include "kernel/kmod/native_policies.hpp"
//   IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)
#pragma once

#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "iouloop/engine/kernel.hpp"
#include "iouloop/iouloop.hpp"

// Skips (loudly, with the reason) where the module is not loaded.
inline void require_kernel_module() {
  if (::access("/dev/iouloop", F_OK) != 0) SKIP("no /dev/iouloop: iouloop_kmod.ko is not loaded (kernel/kmod)");
}

struct kernel_runner {
  static constexpr const char* name = "kernel";
  static constexpr bool kernel = true;  // the kernel's own loop runs the step

  template <class P>
  class session {
   public:
    explicit session(const iouloop::ring_options& o = {}, const iouloop::chaos& = {})
        : ring_((require_kernel_module(), o)), engine_(ring_, params_) {}
    typename P::params_type& params() { return *params_; }
    int run() { return engine_.run(); }
    void detach() { engine_.detach(); }
    iouloop::ring& ring() { return ring_; }
    const iouloop::exit_record& exit() const { return engine_.exit(); }

   private:
    iouloop::ring ring_;
    iouloop::param_region<P> params_;
    iouloop::kernel_engine<P> engine_;
  };

  template <class P>
  static void expect_refused(const iouloop::ring_options& o, const char* says) {
    require_kernel_module();
    iouloop::ring r(o);
    iouloop::param_region<P> p;
    REQUIRE_THROWS_WITH(iouloop::kernel_engine<P>(r, p), Catch::Matchers::ContainsSubstring(says));
  }
};
