// The examples' policy tests (examples/timer, examples/echo tables) on the
// native-callback engine, and differential cases against the BPF engine.
// VM, module loaded (stage 6).
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_cases.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_cases.hpp"
#include "kernel/kmod/native_policies.hpp"
#include "tests/support/kernel_runner.hpp"
#include "tests/support/runners.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)
IOULOOP_PROGRAM_FOR(timer::policy, timer_bpf::programs::timer);
IOULOOP_PROGRAM_FOR(echo::policy, echo_bpf::programs::echo);

#define IOULOOP_RUNNER kernel_runner
#include "examples/echo/echo_table.hpp"
#include "examples/timer/timer_table.hpp"

using iouloop::u32;

TEST_CASE("differential: the timer ends with the same counters and log natively and on BPF",
          "[differential][kernel][timer]") {
  require_kernel_module();
  require_bpf_engine();
  auto [period, ticks, chunks] = GENERATE(table<u32, u32, u32>({{20, 1, 0}, {20, 4, 2}}));
  CAPTURE(period, ticks, chunks);
  auto k = timer_test::run<kernel_runner>(period, ticks, chunks);
  auto b = timer_test::run<bpf_runner>(period, ticks, chunks);
  REQUIRE(k.ret == b.ret);
  REQUIRE(k.end.ticked == b.end.ticked);
  REQUIRE(k.end.written == b.end.written);
  REQUIRE(k.end.errors == b.end.errors);
  REQUIRE(k.exit.error == b.exit.error);
  REQUIRE(k.log == b.log);
}

TEST_CASE("differential: the same echo clients end in the same counters natively and on BPF",
          "[differential][kernel][echo]") {
  require_kernel_module();
  require_bpf_engine();
  auto clients = [](uint16_t port, const echo::params&) {
    return echo_host::concurrent_clients(port, 8, 64 << 10, 8192, 5);
  };
  auto k = echo_test::serve<kernel_runner>(8, 4096, 8, clients);
  auto b = echo_test::serve<bpf_runner>(8, 4096, 8, clients);
  echo_test::require_clients_ok(k);
  echo_test::require_clients_ok(b);
  REQUIRE(k.ret == b.ret);
  REQUIRE(k.end.accepted == b.end.accepted);
  REQUIRE(k.end.closed == b.end.closed);
  REQUIRE(k.end.bytes_echoed == b.end.bytes_echoed);
  REQUIRE(k.end.open == b.end.open);
}
