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

#include "iouloop/engine/kernel.hpp"
#include "tests/support/runners.hpp"

// Skips (loudly, with the reason) where the module is not loaded.
inline void require_kernel_module() {
  if (::access("/dev/iouloop", F_OK) != 0) SKIP("no /dev/iouloop: iouloop_kmod.ko is not loaded (kernel/kmod)");
}

struct kernel_runner {
  static constexpr const char* name = "kernel";
  static constexpr bool kernel = true;  // the kernel's own loop runs the step

  // Chaos options are for the userspace engine; the kernel needs none.
  template <class P>
  class session : public iouloop_test::engine_session<P, iouloop::kernel_engine<P>> {
   public:
    explicit session(const iouloop::ring_options& o = {}, const iouloop::chaos& = {})
        : iouloop_test::engine_session<P, iouloop::kernel_engine<P>>((require_kernel_module(), o)) {}
  };

  template <class P>
  static void expect_refused(const iouloop::ring_options& o, const char* says) {
    require_kernel_module();
    iouloop_test::expect_engine_refused<P, iouloop::kernel_engine<P>>(o, says);
  }
};
