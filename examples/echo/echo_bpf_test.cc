// The echo server on the BPF engine (run in the VM: the kernel needs
// io_uring_bpf_ops), and the same client workload on both engines ending in
// the same counters.
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(echo::policy, echo_bpf::programs::echo);

#define IOULOOP_RUNNER bpf_runner
#include "examples/echo/echo_table.hpp"

TEST_CASE("differential: the same clients end in the same counters on both engines", "[differential][echo][bpf]") {
  require_bpf_engine();
  const int workload = GENERATE(0, 1, 2);
  CAPTURE(workload);
  auto clients = [workload](uint16_t port, const echo::params& p) {
    if (workload == 0) return echo_host::concurrent_clients(port, 8, 128 << 10, 8192, 5);
    if (workload == 1) return echo_host::overflow_clients(port, 4);
    return echo_host::sequential_clients(port, 20, 5000, 1500, 9, p.closed);
  };
  const iouloop::u32 slots = workload == 0 ? 8 : workload == 1 ? 4 : 1;
  const iouloop::u32 expect = workload == 0 ? 8 : workload == 1 ? 5 : 20;
  auto b = echo_test::serve<bpf_runner>(slots, 4096, expect, clients);
  auto u = echo_test::serve<userspace_runner>(slots, 4096, expect, clients);
  echo_test::require_clients_ok(b);
  echo_test::require_clients_ok(u);
  REQUIRE(b.ret == u.ret);
  REQUIRE(b.end.accepted == u.end.accepted);
  REQUIRE(b.end.closed == u.end.closed);
  REQUIRE(b.end.rejected == u.end.rejected);
  REQUIRE(b.end.conn_errors == u.end.conn_errors);
  REQUIRE(b.end.bytes_echoed == u.end.bytes_echoed);
  REQUIRE(b.end.open == u.end.open);
  REQUIRE(b.end.in_flight == u.end.in_flight);
  REQUIRE(b.end.accept_armed == u.end.accept_armed);
  REQUIRE(b.end.stopping == u.end.stopping);
  REQUIRE(b.end.free_count == u.end.free_count);
}
