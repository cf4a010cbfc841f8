// Engine runners for the shared case tables: the same TEST_CASEs run on the
// userspace engine (host and VM) and on the BPF engine (VM only).
//
// A runner has `session<Policy>`: a ring made with the given ring_options, a
// param region, the engine, and `run()` = one io_uring_enter of the loop.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <string>

#include "iouloop/iouloop.hpp"

struct userspace_runner {
  static constexpr const char* name = "userspace";
  static constexpr bool kernel = false;  // the kernel's own loop runs the step

  // `c`: chaos mode (by default from IOULOOP_CHAOS_SEED).
  template <class P>
  class session {
   public:
    explicit session(const iouloop::ring_options& o = {}, const iouloop::chaos& c = iouloop::chaos::from_env())
        : ring_(o), engine_(ring_, params_, c) {}
    typename P::params_type& params() { return *params_; }
    int run() { return engine_.run(); }
    void detach() { engine_.detach(); }
    iouloop::ring& ring() { return ring_; }

   private:
    iouloop::ring ring_;
    iouloop::param_region<P> params_;
    iouloop::userspace_engine<P> engine_;
  };

  template <class P>
  static void expect_refused(const iouloop::ring_options& o, const char* says) {
    iouloop::ring r(o);
    iouloop::param_region<P> p;
    REQUIRE_THROWS_WITH(iouloop::userspace_engine<P>(r, p), Catch::Matchers::ContainsSubstring(says));
  }
};

#if defined(IOULOOP_WITH_BPF)
#include "iouloop/engine/bpf.hpp"

// Skips (loudly, with the reason) where the kernel cannot run BPF loop ops.
inline void require_bpf_engine() {
  static const iouloop::probe_result pr = iouloop::probe();
  if (!pr.bpf_engine()) SKIP("BPF engine unavailable on kernel " << pr.kernel << ": " << pr.bpf_engine_problem());
}

// `Programs` maps a policy type to its program in an embedded object:
//   template <class P> static iouloop::bpf_image image();
//   template <class P> static const char* name();
template <class Programs>
struct bpf_runner {
  static constexpr const char* name = "bpf";
  static constexpr bool kernel = true;

  // Chaos options are for the userspace engine; the kernel needs none.
  template <class P>
  class session {
   public:
    explicit session(const iouloop::ring_options& o = {}, const iouloop::chaos& = {})
        : ring_((require_bpf_engine(), o)), engine_(ring_, params_, Programs::template image<P>(), Programs::template name<P>()) {}
    typename P::params_type& params() { return *params_; }
    int run() { return engine_.run(); }
    void detach() { engine_.detach(); }
    iouloop::ring& ring() { return ring_; }
    iouloop::bpf_program_stats stats() const { return engine_.stats(); }

   private:
    iouloop::ring ring_;
    iouloop::param_region<P> params_;
    iouloop::bpf_engine<P> engine_;
  };

  template <class P>
  static void expect_refused(const iouloop::ring_options& o, const char* says) {
    require_bpf_engine();
    iouloop::ring r(o);
    iouloop::param_region<P> p;
    REQUIRE_THROWS_WITH(iouloop::bpf_engine<P>(r, p, Programs::template image<P>(), Programs::template name<P>()),
                        Catch::Matchers::ContainsSubstring(says));
  }
};
#endif
