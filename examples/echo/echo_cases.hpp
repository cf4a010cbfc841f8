// Echo server cases shared by the engines: IOULOOP_ECHO_CASES(Runner)
// defines them (echo_test.cc: userspace engine; echo_bpf_test.cc: BPF
// engine, in the VM). The server runs in the test's thread, the ring's single
// issuer; clients run in other threads and check every byte they get back.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <atomic>
#include <chrono>
#include <string>
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
  std::string exit_text;     // iouloop::describe() of the run
  std::string open_sockets;  // the server's sockets left open, as the run ended (echo_host::tcp_text)
  std::string kernel_text;   // after a client failed: the ring's fdinfo and the threads (echo_host::kernel_side_text)
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
    std::atomic<bool> clients_done{false};
    std::thread t([&, port = lis.port()] {
      o.clients = clients(port, live);
      dog.clients_done(std::chrono::seconds(10));
      clients_done.store(true, std::memory_order_release);
    });
    o.ret = s.run();
    dog.disarm();
    o.watchdog_fired = dog.fired();
    for (u32 i = 0; i < echo::max_conns; ++i)  // the server's sockets the run left open
      if (s.params().fd[i] >= 0)
        o.open_sockets += "; slot " + std::to_string(i) + ": " + echo_host::tcp_text(s.params().fd[i]);
    echo_host::close_open_slots(s.params());  // only after an early stop
    lis.close();
    // The clients wait for the EOF of sockets the policy closed: keep the
    // ring's deferred work running until they are done (settle_until says why).
    const int settled = s.settle_until([&] { return clients_done.load(std::memory_order_acquire); });
    t.join();
    CHECK(settled == 0);
    for (const auto& c : o.clients)  // the server's side of a client's failure, while the ring still exists
      if (!c.ok) {
        o.kernel_text = echo_host::kernel_side_text(s.ring().fd());
        break;
      }
  }
  o.end = s.params();
  o.exit_text = iouloop::describe(s.exit(), o.ret);
  return o;
}

// How the server's run ended and what its params held then, for a failure's
// message: a client's failure is often the server's.
inline std::string server_text(const outcome& o) {
  const echo::params& p = o.end;
  std::string s = "server: run() = " + std::to_string(o.ret) +
                  (o.watchdog_fired ? " (interrupted by the watchdog: the server did not finish)" : "") + ": " +
                  o.exit_text + "; accepted " + std::to_string(p.accepted) + ", closed " + std::to_string(p.closed) +
                  ", open " + std::to_string(p.open) + ", in flight " + std::to_string(p.in_flight) +
                  ", accept armed " + std::to_string(p.accept_armed) + ", stopping " + std::to_string(p.stopping) +
                  ", short sends " + std::to_string(p.short_sends) + ", bytes echoed " + std::to_string(p.bytes_echoed);
  for (u32 i = 0; i < echo::max_conns && i < p.slots; ++i)
    if (p.fd[i] >= 0)
      s += "; slot " + std::to_string(i) + ": fd " + std::to_string(p.fd[i]) + ", " + std::to_string(p.sent[i]) +
           " of " + std::to_string(p.len[i]) + " sent";
  return s + o.open_sockets + o.kernel_text;
}

inline void require_clients_ok(const outcome& o) {
  for (size_t i = 0; i < o.clients.size(); ++i) {
    INFO("client " << i << ": " << o.clients[i].error);
    INFO(server_text(o));
    REQUIRE(o.clients[i].ok);
  }
}

// The loop stopped by itself, with nothing left behind.
inline void require_clean_stop(const outcome& o, u32 slots) {
  INFO(server_text(o));
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.open == 0);
  REQUIRE(o.end.in_flight == 0);
  REQUIRE(o.end.accept_armed == 0);
  REQUIRE(o.end.free_count == slots);
  for (iouloop::u32 i = 0; i < echo::max_conns; ++i) REQUIRE(o.end.fd[i] == -1);
}

}  // namespace echo_test
