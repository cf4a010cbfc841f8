// The direct-descriptor cases, once per test binary after `#define
// IOULOOP_RUNNER` (tests/support/runners.hpp), so both engines run them.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including tests/direct/direct_table.hpp"
#endif

#include <catch2/generators/catch_generators.hpp>

#include "tests/direct/direct_cases.hpp"

TEST_CASE("direct descriptors: accept into the file table, echo and close by slot", "[direct]") {
  using Runner = IOULOOP_RUNNER;
  auto [clients, waves, bytes, chunk] = GENERATE(table<iouloop::u32, iouloop::u32, iouloop::u64, iouloop::u32>({
      {1, 1, 1000, 100},
      {direct::slots, 1, 64 << 10, 4096}, /* every slot busy at once */
      {2, 10, 5000, 999},                 /* slots closed and handed out again */
  }));
  CAPTURE(clients, waves, bytes, chunk);
  auto o = direct_test::run<Runner>(clients, waves, bytes, chunk);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.accepted == clients * waves);
  REQUIRE(o.end.closed == clients * waves);
  REQUIRE(o.end.errors == 0);
  REQUIRE(o.end.echoed == iouloop::u64(clients) * waves * bytes);
  for (auto g : o.good) REQUIRE(g == bytes);
  for (iouloop::u32 i = 0; i < direct::slots; ++i) REQUIRE(o.end.st[i] == direct::free_slot);
}
