// Policies written with no annotation (tests/inline/plain_policy.hpp) run to
// the end on the userspace engine (plain_test: host and VM) and on the BPF
// engine (plain_bpf_test: VM only; its BPF object loading at all is the point).
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "tests/inline/plain_policy.hpp"
#include "tests/support/runners.hpp"

#if defined(IOULOOP_WITH_BPF)
#include "tests/inline/plain_bpf.bpf.h"
IOULOOP_PROGRAM_FOR(plain::by_hand, plain_bpf::programs::plain_by_hand);
IOULOOP_PROGRAM_FOR(plain::composed, plain_bpf::programs::plain_composed);
#define PLAIN_RUNNER bpf_runner
#else
#define PLAIN_RUNNER userspace_runner
#endif

TEMPLATE_TEST_CASE("a policy with no IOULOOP_INLINE completes every NOP", "[inline]", plain::by_hand, plain::composed) {
  const iouloop::u32 total = GENERATE(1u, 100u, 1000u);
  const iouloop::u32 depth = GENERATE(1u, 8u, 32u);
  CAPTURE(PLAIN_RUNNER::name, total, depth);
  PLAIN_RUNNER::session<TestType> s;
  s.params() = plain::params{.total = total, .depth = depth};
  REQUIRE(s.run() == 0);
  const plain::params& p = s.params();
  REQUIRE(p.completed == total);
  REQUIRE(p.submitted == total);
  REQUIRE(p.errors == 0);
  REQUIRE(p.payload_sum == iouloop::u64(total) * (total - 1) / 2);  // payloads 0 .. total-1
}
