// The loop-semantics table on the userspace engine.
#include <catch2/matchers/catch_matchers_string.hpp>

#include "iouloop/iouloop.hpp"
#include "tests/semantics/cases.hpp"

struct userspace_runner {
  template <class P>
  class session {
   public:
    explicit session(const iouloop::ring_options& o = {}) : ring_(o), engine_(ring_, params_) {}
    sem::params& params() { return *params_; }
    int run() { return engine_.run(); }
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

IOULOOP_SEMANTICS_CASES(userspace_runner)
