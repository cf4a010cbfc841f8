// Echo server cases shared by the engines: IOULOOP_ECHO_CASES(Runner)
// defines them (echo_test.cc: userspace engine; echo_bpf_test.cc: BPF
// engine, in the VM). The server runs in the test's thread, the ring's single
// issuer; clients run in other threads and check every byte they get back.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "examples/echo/echo_host.hpp"
#include "examples/echo/echo_policy.hpp"
#include "iouloop/iouloop.hpp"

namespace echo_test {

using iouloop::u32;

struct outcome {
  int ret = 0;
  bool watchdog_fired = false;
  echo::params end{};
  std::vector<echo_host::client_result> clients;
};

// Serves on Runner until the policy stops, while `clients(port, params)`
// runs in another thread and returns the clients' results. A run that does
// not end is interrupted (watchdog): `limit_s` in all, or 10 s after the
// clients are done. `sndbuf`: the server sockets' send buffer (0: default).
template <class Runner, class Clients>
outcome serve(u32 slots, u32 slot_bytes, u32 expect_clients, Clients clients, int sndbuf = 0, int limit_s = 300) {
  echo_host::ensure_loopback();
  echo_host::listener lis(0, sndbuf);
  echo_host::slot_buffers bufs(slots, slot_bytes);
  typename Runner::template session<echo::policy> s;
  s.params() = echo::make_params(lis.fd(), bufs.addr(), slots, slot_bytes, expect_clients);
  outcome o;
  {
    echo_host::watchdog dog{std::chrono::seconds(limit_s)};
    const echo::params& live = s.params();
    std::thread t([&, port = lis.port()] {
      o.clients = clients(port, live);
      dog.clients_done(std::chrono::seconds(10));
    });
    o.ret = s.run();
    dog.disarm();
    o.watchdog_fired = dog.fired();
    echo_host::close_open_slots(s.params());  // only after an early stop
    lis.close();
    t.join();
  }
  o.end = s.params();
  return o;
}

inline void require_clients_ok(const outcome& o) {
  for (size_t i = 0; i < o.clients.size(); ++i) {
    INFO("client " << i << ": " << o.clients[i].error);
    REQUIRE(o.clients[i].ok);
  }
}

// The loop stopped by itself, with nothing left behind.
inline void require_clean_stop(const outcome& o, u32 slots) {
  INFO("run() = " << o.ret << (o.watchdog_fired ? " (interrupted by the watchdog: the server did not finish)" : "")
                  << ", error " << o.end.error);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.error == 0);
  REQUIRE(o.end.open == 0);
  REQUIRE(o.end.in_flight == 0);
  REQUIRE(o.end.accept_armed == 0);
  REQUIRE(o.end.free_count == slots);
  for (iouloop::u32 i = 0; i < echo::max_conns; ++i) REQUIRE(o.end.fd[i] == -1);
}

}  // namespace echo_test

#define IOULOOP_ECHO_CASES(Runner)                                                                  \
  TEST_CASE("echo: clients at once, every byte comes back", "[echo][" #Runner "]") {                \
    auto [clients, bytes, chunk, slots, slot_bytes] =                                               \
        GENERATE(table<iouloop::u32, size_t, size_t, iouloop::u32, iouloop::u32>({                  \
        {1, 0, 1, 1, 4096},           /* connect, send nothing, leave */                            \
        {1, 1, 1, 1, 4096},                                                                         \
        {1, 256 << 10, 65536, 1, 65536},                                                            \
        {2, 20000, 7, 2, 4096},       /* tiny sends */                                              \
        {3, 10000, 4096, 3, 1},       /* 1-byte slots: a recv and a send per byte */                \
        {4, 100000, 1000, 8, 4096},   /* fewer clients than slots */                                \
        {16, 256 << 10, 16384, 16, 16384},                                                          \
        {8, 1 << 20, 262144, 8, 4096}, /* chunks much larger than a slot */                         \
        {64, 64 << 10, 8192, 64, 4096}, /* every slot busy */                                       \
    }));                                                                                            \
    CAPTURE(clients, bytes, chunk, slots, slot_bytes);                                              \
    auto o = echo_test::serve<Runner>(slots, slot_bytes, clients, [&](uint16_t port, const echo::params&) { \
      return echo_host::concurrent_clients(port, clients, bytes, chunk, clients * 1000 + bytes);    \
    });                                                                                             \
    echo_test::require_clients_ok(o);                                                               \
    echo_test::require_clean_stop(o, slots);                                                        \
    REQUIRE(o.end.accepted == clients);                                                             \
    REQUIRE(o.end.closed == clients);                                                               \
    REQUIRE(o.end.rejected == 0);                                                                   \
    REQUIRE(o.end.conn_errors == 0);                                                                \
    REQUIRE(o.end.bytes_echoed == clients * bytes);                                                 \
    for (auto& c : o.clients) REQUIRE(c.echoed == bytes);                                           \
  }                                                                                                 \
  TEST_CASE("echo: short sends are finished with the rest", "[echo][" #Runner "]") {                \
    /* 1 MiB slots, a 4 KiB send buffer on the server side, readers that start late */              \
    auto o = echo_test::serve<Runner>(2, 1 << 20, 2, [&](uint16_t port, const echo::params&) {      \
      std::vector<echo_host::client_result> r(2);                                                   \
      std::thread a([&] { r[0] = echo_host::run_client(port, {2 << 20, 256 << 10, 11, 100}); });    \
      r[1] = echo_host::run_client(port, {2 << 20, 256 << 10, 12, 100});                            \
      a.join();                                                                                     \
      return r;                                                                                     \
    }, 4096);                                                                                       \
    echo_test::require_clients_ok(o);                                                               \
    echo_test::require_clean_stop(o, 2);                                                            \
    INFO("a send into a full 4 KiB send buffer moves part of its bytes: the policy must send the rest"); \
    REQUIRE(o.end.short_sends > 0);                                                                 \
    REQUIRE(o.end.bytes_echoed == 2 * (2ull << 20));                                                \
    REQUIRE(o.end.conn_errors == 0);                                                                \
  }                                                                                                 \
  TEST_CASE("echo: a connection beyond the free slots is closed at once and counted",               \
            "[echo][" #Runner "]") {                                                                \
    const iouloop::u32 slots = GENERATE(1u, 3u, echo::max_conns);                                   \
    CAPTURE(slots);                                                                                 \
    auto o = echo_test::serve<Runner>(slots, 4096, slots + 1, [&](uint16_t port, const echo::params&) { \
      return echo_host::overflow_clients(port, slots);                                              \
    });                                                                                             \
    echo_test::require_clients_ok(o);                                                               \
    echo_test::require_clean_stop(o, slots);                                                        \
    REQUIRE(o.end.accepted == slots + 1);                                                           \
    REQUIRE(o.end.rejected == 1);                                                                   \
    REQUIRE(o.end.closed == slots);                                                                 \
    REQUIRE(o.end.bytes_echoed == 2 * slots);                                                       \
  }                                                                                                 \
  TEST_CASE("echo: connections one after another reuse the slots", "[echo][" #Runner "]") {         \
    const iouloop::u32 slots = GENERATE(1u, 2u);                                                    \
    const iouloop::u32 clients = 3 * echo::max_conns;                                               \
    CAPTURE(slots, clients);                                                                        \
    auto o = echo_test::serve<Runner>(slots, 512, clients, [&](uint16_t port, const echo::params& p) { \
      return echo_host::sequential_clients(port, clients, 3000, 700, 7, p.closed);                  \
    });                                                                                             \
    echo_test::require_clients_ok(o);                                                               \
    echo_test::require_clean_stop(o, slots);                                                        \
    REQUIRE(o.end.accepted == clients);                                                             \
    REQUIRE(o.end.closed == clients);                                                               \
    REQUIRE(o.end.rejected == 0);                                                                   \
    REQUIRE(o.end.bytes_echoed == clients * 3000ull);                                               \
  }                                                                                                 \
  TEST_CASE("echo: clients that leave early or reset do not disturb the others",                    \
            "[echo][" #Runner "]") {                                                                \
    auto o = echo_test::serve<Runner>(16, 4096, 4 + 3 * 3, [&](uint16_t port, const echo::params&) { \
      std::vector<echo_host::client_result> r(4 + 3 * 3);                                           \
      std::vector<std::thread> t;                                                                   \
      for (iouloop::u32 i = 0; i < 4; ++i)                                                          \
        t.emplace_back([&, i] { r[i] = echo_host::run_client(port, {200000, 5000, 40 + i}); });     \
      const echo_host::leave how[] = {echo_host::leave::at_once, echo_host::leave::unread,          \
                                      echo_host::leave::reset};                                     \
      for (iouloop::u32 i = 0; i < 9; ++i)                                                          \
        t.emplace_back([&, i] { r[4 + i] = echo_host::run_leaving_client(port, how[i % 3], 50000 * (i / 3), i); }); \
      for (auto& th : t) th.join();                                                                 \
      return r;                                                                                     \
    });                                                                                             \
    echo_test::require_clients_ok(o);                                                               \
    echo_test::require_clean_stop(o, 16);                                                           \
    REQUIRE(o.end.accepted == 13);                                                                  \
    REQUIRE(o.end.closed == 13);                                                                    \
    REQUIRE(o.end.rejected == 0);                                                                   \
    REQUIRE(o.end.conn_errors <= 6);                                                                \
    REQUIRE(o.end.bytes_echoed >= 4 * 200000ull + 6);                                               \
    for (iouloop::u32 i = 0; i < 4; ++i) REQUIRE(o.clients[i].echoed == 200000);                    \
  }                                                                                                 \
  TEST_CASE("echo: an accept that fails stops the loop with its error", "[echo][" #Runner "]") {    \
    const bool bad_fd = GENERATE(true, false);                                                      \
    CAPTURE(bad_fd);                                                                                \
    /* not a socket at all, or a TCP socket that is not listening */                                \
    const int not_listening = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);                     \
    REQUIRE(not_listening >= 0);                                                                    \
    echo_host::slot_buffers bufs(2, 4096);                                                          \
    typename Runner::template session<echo::policy> s;                                              \
    s.params() = echo::make_params(bad_fd ? 1 << 20 : not_listening, bufs.addr(), 2, 4096, 1);      \
    const int ret = s.run();                                                                        \
    ::close(not_listening);                                                                         \
    REQUIRE(ret == 0);                                                                              \
    REQUIRE(s.params().error == (bad_fd ? -EBADF : -EINVAL));                                       \
    REQUIRE(s.params().accepted == 0);                                                              \
    REQUIRE(s.params().accept_armed == 0);                                                          \
  }
