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
  std::string exit_text;  // iouloop::describe() of the run
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
  o.exit_text = iouloop::describe(s.exit(), o.ret);
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
                  << ": " << o.exit_text);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.open == 0);
  REQUIRE(o.end.in_flight == 0);
  REQUIRE(o.end.accept_armed == 0);
  REQUIRE(o.end.free_count == slots);
  for (iouloop::u32 i = 0; i < echo::max_conns; ++i) REQUIRE(o.end.fd[i] == -1);
}

}  // namespace echo_test
