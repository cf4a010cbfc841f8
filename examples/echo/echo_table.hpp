// The echo server cases, as plain test cases: included once per test binary,
// after `#define IOULOOP_RUNNER <runner type>` (tests/support/runners.hpp:
// userspace_runner, or bpf_runner with IOULOOP_PROGRAM_FOR declarations),
// so every engine runs the very same cases and a failure points at its own
// line here. Helpers and policies: examples/echo/echo_cases.hpp.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including examples/echo/echo_table.hpp"
#endif
#if defined(IOULOOP_TABLE_EXAMPLES_ECHO_ECHO_TABLE_HPP)
#error "examples/echo/echo_table.hpp defines test cases: include it once per test binary"
#endif
#define IOULOOP_TABLE_EXAMPLES_ECHO_ECHO_TABLE_HPP

#include "examples/echo/echo_cases.hpp"

TEST_CASE("echo: clients at once, every byte comes back", "[echo]") {
  using Runner = IOULOOP_RUNNER;
  auto [clients, bytes, chunk, slots, slot_bytes] =
      GENERATE(table<iouloop::u32, size_t, size_t, iouloop::u32, iouloop::u32>({
          {1, 0, 1, 1, 4096}, /* connect, send nothing, leave */
          {1, 1, 1, 1, 4096},
          {1, 256 << 10, 65536, 1, 65536},
          {2, 20000, 7, 2, 4096},     /* tiny sends */
          {3, 10000, 4096, 3, 1},     /* 1-byte slots: a recv and a send per byte */
          {4, 100000, 1000, 8, 4096}, /* fewer clients than slots */
          {16, 256 << 10, 16384, 16, 16384},
          {8, 1 << 20, 262144, 8, 4096},  /* chunks much larger than a slot */
          {64, 64 << 10, 8192, 64, 4096}, /* every slot busy */
      }));
  CAPTURE(clients, bytes, chunk, slots, slot_bytes);
  auto o = echo_test::serve<Runner>(slots, slot_bytes, clients, [&](uint16_t port, const echo::params&) {
    return echo_host::concurrent_clients(port, clients, bytes, chunk, clients * 1000 + bytes);
  });
  echo_test::require_clients_ok(o);
  echo_test::require_clean_stop(o, slots);
  REQUIRE(o.end.accepted == clients);
  REQUIRE(o.end.closed == clients);
  REQUIRE(o.end.rejected == 0);
  REQUIRE(o.end.conn_errors == 0);
  REQUIRE(o.end.bytes_echoed == clients * bytes);
  for (auto& c : o.clients) REQUIRE(c.echoed == bytes);
}
TEST_CASE("echo: short sends are finished with the rest", "[echo]") {
  using Runner = IOULOOP_RUNNER;
  // 1 MiB slots, a 4 KiB send buffer on the server side, readers that start late
  auto o = echo_test::serve<Runner>(
      2, 1 << 20, 2,
      [&](uint16_t port, const echo::params&) {
        std::vector<echo_host::client_result> r(2);
        std::thread a([&] { r[0] = echo_host::run_client(port, {2 << 20, 256 << 10, 11, 100}); });
        r[1] = echo_host::run_client(port, {2 << 20, 256 << 10, 12, 100});
        a.join();
        return r;
      },
      4096);
  echo_test::require_clients_ok(o);
  echo_test::require_clean_stop(o, 2);
  INFO("a send into a full 4 KiB send buffer moves part of its bytes: the policy must send the rest");
  REQUIRE(o.end.short_sends > 0);
  REQUIRE(o.end.bytes_echoed == 2 * (2ull << 20));
  REQUIRE(o.end.conn_errors == 0);
}
TEST_CASE("echo: a connection beyond the free slots is closed at once and counted", "[echo]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 slots = GENERATE(1u, 3u, echo::max_conns);
  CAPTURE(slots);
  auto o = echo_test::serve<Runner>(slots, 4096, slots + 1, [&](uint16_t port, const echo::params&) {
    return echo_host::overflow_clients(port, slots);
  });
  echo_test::require_clients_ok(o);
  echo_test::require_clean_stop(o, slots);
  REQUIRE(o.end.accepted == slots + 1);
  REQUIRE(o.end.rejected == 1);
  REQUIRE(o.end.closed == slots);
  REQUIRE(o.end.bytes_echoed == 2 * slots);
}
TEST_CASE("echo: connections one after another reuse the slots", "[echo]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 slots = GENERATE(1u, 2u);
  const iouloop::u32 clients = 3 * echo::max_conns;
  CAPTURE(slots, clients);
  auto o = echo_test::serve<Runner>(slots, 512, clients, [&](uint16_t port, const echo::params& p) {
    return echo_host::sequential_clients(port, clients, 3000, 700, 7, p.closed);
  });
  echo_test::require_clients_ok(o);
  echo_test::require_clean_stop(o, slots);
  REQUIRE(o.end.accepted == clients);
  REQUIRE(o.end.closed == clients);
  REQUIRE(o.end.rejected == 0);
  REQUIRE(o.end.bytes_echoed == clients * 3000ull);
}
TEST_CASE("echo: clients that leave early or reset do not disturb the others", "[echo]") {
  using Runner = IOULOOP_RUNNER;
  auto o = echo_test::serve<Runner>(16, 4096, 4 + 3 * 3, [&](uint16_t port, const echo::params&) {
    std::vector<echo_host::client_result> r(4 + 3 * 3);
    std::vector<std::thread> t;
    for (iouloop::u32 i = 0; i < 4; ++i)
      t.emplace_back([&, i] { r[i] = echo_host::run_client(port, {200000, 5000, 40 + i}); });
    const echo_host::leave how[] = {echo_host::leave::at_once, echo_host::leave::unread, echo_host::leave::reset};
    for (iouloop::u32 i = 0; i < 9; ++i)
      t.emplace_back([&, i] { r[4 + i] = echo_host::run_leaving_client(port, how[i % 3], 50000 * (i / 3), i); });
    for (auto& th : t) th.join();
    return r;
  });
  echo_test::require_clients_ok(o);
  echo_test::require_clean_stop(o, 16);
  REQUIRE(o.end.accepted == 13);
  REQUIRE(o.end.closed == 13);
  REQUIRE(o.end.rejected == 0);
  REQUIRE(o.end.conn_errors <= 6);
  REQUIRE(o.end.bytes_echoed >= 4 * 200000ull + 6);
  for (iouloop::u32 i = 0; i < 4; ++i) REQUIRE(o.clients[i].echoed == 200000);
}
TEST_CASE("echo: an accept that fails stops the loop with its error", "[echo]") {
  using Runner = IOULOOP_RUNNER;
  const bool bad_fd = GENERATE(true, false);
  CAPTURE(bad_fd);
  // not a socket at all, or a TCP socket that is not listening
  const int not_listening = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(not_listening >= 0);
  echo_host::slot_buffers bufs(2, 4096);
  Runner::session<echo::policy> s;
  s.params() = echo::make_params(bad_fd ? 1 << 20 : not_listening, bufs.addr(), 2, 4096, 1);
  const int ret = s.run();
  ::close(not_listening);
  // the accept's failure is loop.fail()'s: run() returns it
  REQUIRE(ret == (bad_fd ? -EBADF : -EINVAL));
  REQUIRE(s.exit().error == ret);
  REQUIRE(std::string(s.exit().file) == "examples/echo/echo_policy.hpp");
  REQUIRE(s.params().accepted == 0);
  REQUIRE(s.params().accept_armed == 0);
}
