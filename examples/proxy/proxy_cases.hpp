// Host side of the proxy cases (examples/proxy/proxy_table.hpp): one proxy
// run on a runner's engine in front of an echo upstream (or a refusing
// port), while a client load runs in another thread, with a time limit on
// both, a second run after an interrupt (the graceful stop), and the
// resource census around it all (the upstream's thread and sockets inside).
#pragma once

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "examples/echo/echo_host.hpp"
#include "examples/echo2/echo2_cases.hpp"
#include "examples/echo2/echo2_host.hpp"
#include "examples/proxy/proxy_host.hpp"
#include "examples/proxy/proxy_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/census.hpp"
#include "tests/support/signals.hpp"

namespace proxy_test {

using echo2_test::scaled;
using iouloop::u32;
using iouloop::u64;

struct outcome {
  int ret = 0;   // the last run()
  int runs = 0;  // run() calls: 2 after an interrupt and a graceful stop
  bool watchdog_fired = false;
  u64 held_at_interrupt = 0;     // bytes received and not yet sent when the first run returned -EINTR
  proxy::params at_interrupt{};  // the params then
  proxy::params end{};
  std::string exit_text;
  echo2_host::load_result load;
  u32 upstream_connections = 0, upstream_resets = 0;
  u64 upstream_echoed = 0;
};

// The threads a case runs at once (client load, watchdog, echo upstream,
// signal sender, and this one) take stacks and malloc arenas that glibc
// keeps for the next threads: made once here, before any count, by six
// threads that allocate at the same time (echo2_test::warm_thread_stacks
// makes four).
inline void warm_threads() {
  static const bool done = [] {
    auto work = [] {
      std::vector<char> v(1 << 16, 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      (void)v;
    };
    std::vector<std::thread> ts;
    for (int i = 0; i < 6; ++i) ts.emplace_back(work);
    for (auto& t : ts) t.join();
    return true;
  }();
  (void)done;
}

// Why this machine cannot listen on [::1] (no IPv6 in the kernel, lo
// without ::1), or "" if it can.
inline std::string ipv6_loopback_problem() {
  echo_host::ensure_loopback();
  try {
    echo_host::listener l(echo_host::listener::ipv6_loopback);
  } catch (const iouloop::error& e) {
    return e.what();
  }
  return "";
}

// A link-local IPv6 address of this machine for an upstream to listen on, and
// the same as the proxy's --upstream host takes it, with its zone
// (fe80::1%lo); or, in `problem`, why there is none. The first such address
// of an interface that is up, if a socket can listen on it; in the VM, where
// no interface has one, it adds fe80::1/64 to lo first.
struct link_local {
  sockaddr_in6 address{};
  std::string host;
  std::string problem;
};

inline link_local link_local_here() {
  echo_host::ensure_loopback();
  auto find = []() -> link_local {
    ifaddrs* all = nullptr;
    if (::getifaddrs(&all) != 0) return {.problem = std::string("getifaddrs failed: ") + std::strerror(errno)};
    link_local found{.problem = "no interface that is up has a link-local IPv6 address (ip -6 addr)"};
    for (ifaddrs* i = all; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || !(i->ifa_flags & IFF_UP)) continue;
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (!IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
      char text[INET6_ADDRSTRLEN] = "?";
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      found = {.address = echo_host::listener::ipv6_address(a->sin6_addr, 0, ::if_nametoindex(i->ifa_name)),
               .host = std::string(text) + "%" + i->ifa_name};
      break;
    }
    ::freeifaddrs(all);
    if (found.problem.empty()) {
      try {  // an address still in duplicate address detection cannot be bound yet
        echo_host::listener probe(found.address);
      } catch (const iouloop::error& e) {
        return {.problem = found.host + " cannot be listened on: " + e.what()};
      }
    }
    return found;
  };
  link_local l = find();
  if (l.problem.empty() || !std::getenv("IOULOOP_IN_VM")) return l;
  iouloop::unique_fd s(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return {.problem = std::string("socket(AF_INET6) failed: ") + std::strerror(errno)};
  struct {  // struct in6_ifreq (linux/ipv6.h)
    in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
  } req{};
  ::inet_pton(AF_INET6, "fe80::1", &req.addr);
  req.prefixlen = 64;
  req.ifindex = int(::if_nametoindex("lo"));
  if (::ioctl(s.get(), SIOCSIFADDR, &req) != 0 && errno != EEXIST)
    return {.problem = std::string("cannot add fe80::1/64 to lo (SIOCSIFADDR): ") + std::strerror(errno)};
  // The address stays tentative until the kernel's address work runs (on
  // loopback it skips duplicate address detection, but in a work item):
  // give it 5 s, which a slow VM needs.
  for (int i = 0; i < 250; ++i) {
    if (l = find(); l.problem.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return l;
}

struct options {
  bool refuse = false;                              // the upstream is a port where nothing listens
  int sndbuf = 0;                                   // the client-side sockets' SO_SNDBUF (0: default)
  int up_sockbuf = 0;                               // the echo upstream's SO_RCVBUF and SO_SNDBUF (0: default)
  bool ipv6_upstream = false;                       // the echo upstream listens on [::1], and the proxy connects there
  const link_local* link_local_upstream = nullptr;  // the same, on this link-local address
  // SIGINT to the loop's thread once this holds of the params (as another thread sees them)
  std::function<bool(const proxy::params&)> interrupt_when;
  std::function<void()> on_interrupt;  // after the interrupted run, before the second
  int limit_s = 60;
};

// Proxies with `cfg` on Runner while `load(port, params)` runs in another
// thread (params as the loop leaves them: read with iouloop_test::watch).
// A run() that returns -EINTR, not from the watchdog, is the graceful stop:
// `stopping` goes into the params, `on_interrupt()` runs, and the loop runs
// again. The watchdog (SIGUSR1) ends a run that hangs: `limit_s` in all, or
// 10 s after the load is done.
template <class Runner>
outcome serve(proxy_host::server_config cfg,
              std::function<echo2_host::load_result(uint16_t, const proxy::params&)> load, const options& opt = {}) {
  echo_host::ensure_loopback();
  echo2_host::raise_fd_limit(rlim_t(cfg.table) + 2 * 400 + 64);  // the table, the clients and the upstream's sockets
  outcome o;
  warm_threads();
  const census before = census::settled();
  {
    std::optional<proxy_host::echo_upstream> up;
    std::optional<proxy_host::refusing_port> nowhere;
    if (opt.refuse) {
      cfg.upstream_port = nowhere.emplace().port();
    } else {
      std::optional<sockaddr_in6> at;  // where the echo upstream listens: 127.0.0.1 unless given
      if (opt.ipv6_upstream) {
        at = echo_host::listener::ipv6_address(in6addr_loopback, 0);
        cfg.upstream_host = "::1";
      } else if (opt.link_local_upstream) {
        at = opt.link_local_upstream->address;
        cfg.upstream_host = opt.link_local_upstream->host;
      }
      cfg.upstream_port = up.emplace(opt.up_sockbuf, at).port();
    }
    echo_host::listener lis(0, opt.sndbuf, 4096);
    iouloop::ring_options ro;
    ro.sq_entries = 128;
    ro.cq_entries = 4096;
    typename Runner::template session<proxy::policy> s(ro);
    proxy_host::server srv(s.ring(), s.params(), lis.fd(), cfg);
    {
      echo_host::watchdog dog{std::chrono::seconds(opt.limit_s)};
      std::atomic<bool> load_done{false};
      std::thread t([&, port = lis.port()] {
        o.load = load(port, s.params());
        dog.clients_done(std::chrono::seconds(10));
        load_done.store(true, std::memory_order_release);
      });
      std::optional<echo2_test::sigint_when> interrupt;
      if (opt.interrupt_when) interrupt.emplace([&] { return opt.interrupt_when(s.params()); });
      o.ret = s.run();
      o.runs = 1;
      if (o.ret == -EINTR && !dog.fired()) {
        const proxy::params& p = s.params();
        o.held_at_interrupt = p.from_client + p.from_upstream - p.to_upstream - p.to_client - p.dropped;
        o.at_interrupt = p;
        s.params().stopping = 1;
        if (opt.on_interrupt) opt.on_interrupt();
        o.ret = s.run();
        o.runs = 2;
      }
      dog.disarm();
      o.watchdog_fired = dog.fired();
      lis.close();
      // Clients may wait for the EOF of sockets the policy closed: keep the
      // ring's deferred work running until the load is done (settle_until).
      const int settled = s.settle_until([&] { return load_done.load(std::memory_order_acquire); });
      t.join();
      CHECK(settled == 0);
    }
    o.end = s.params();
    o.exit_text = iouloop::describe(s.exit(), o.ret);
    if (up) {
      o.upstream_connections = up->connections();
      o.upstream_resets = up->resets();
      o.upstream_echoed = up->echoed();
    }
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
  return o;
}

// The loop stopped by itself with every slot closed, every buffer back in
// the ring, nothing in flight, and every byte received sent or dropped.
inline void require_clean(const outcome& o, const proxy_host::server_config& cfg) {
  INFO("run() = " << o.ret << (o.watchdog_fired ? " (the watchdog interrupted it: the proxy did not finish)" : "")
                  << ": " << o.exit_text);
  INFO("load: " << o.load.done << " done, " << o.load.failed << " failed, " << o.load.refused << " refused"
                << (o.load.timed_out ? " (timed out)" : "") << "; first failure: " << o.load.first_error);
  const proxy::params& e = o.end;
  INFO("accepted " << e.accepted << ", connected " << e.connected << ", refused " << e.refused << ", closed "
                   << e.clients_closed << ", resets " << e.resets << ", shutdowns " << e.shutdowns << "; bytes from "
                   << e.from_client << " / " << e.from_upstream << ", to " << e.to_upstream << " / " << e.to_client
                   << ", dropped " << e.dropped);
  REQUIRE(o.ret == 0);
  REQUIRE(o.load.ok());
  REQUIRE(e.in_flight == 0);
  REQUIRE(e.open_slots == 0);
  REQUIRE(e.accepted == e.clients_closed);
  REQUIRE(e.in_ring == cfg.nbufs);
  REQUIRE(e.from_client + e.from_upstream == e.to_upstream + e.to_client + e.dropped);
  REQUIRE(e.ready_head == e.ready_tail);
  REQUIRE(e.starved_head == e.starved_tail);
  for (u32 i = 0; i < proxy::max_slots; ++i) REQUIRE(e.st[i] == 0);
}

// A load of `spec` against the proxy's port.
inline std::function<echo2_host::load_result(uint16_t, const proxy::params&)> clients(echo2_host::load_spec spec) {
  return [spec](uint16_t port, const proxy::params&) {
    echo2_host::load_spec s = spec;
    s.port = port;
    return echo2_host::run_load(s);
  };
}

// Slots of the kind `side` (proxy::client, or 0: upstream) whose recv is
// paused at the cap now (as another thread sees the params).
inline u32 paused_slots(const proxy::params& p, u32 side) {
  u32 n = 0;
  for (u32 i = 0; i < proxy::max_slots; ++i) {
    const u32 st = iouloop_test::watch(p.st[i]);
    if ((st & proxy::open) && (st & proxy::paused) && (st & proxy::client) == side) n++;
  }
  return n;
}

// Clients that send and never read (echo2_test::hogs), beside a load of
// ordinary ones. The hogs connect first and push until both directions of
// each pair are paused at the cap (the upstream's echoes fill the hog's
// socket, then the upstream stops reading and the client's bytes back up
// too), for `push_limit_s` at most; then the ordinary load runs while the
// hogs stay stuck; then the hogs leave with an RST.
struct hog_outcome {
  outcome o;
  bool paused_in_time = false;  // both directions of every hog's pair were paused at once
  u64 hog_bytes = 0;            // what the hogs sent
  double push_s = 0;            // how long they pushed before both directions were paused (or the limit)
};
template <class Runner>
hog_outcome with_hogs(const proxy_host::server_config& cfg, u32 hog_count, const echo2_host::load_spec& spec,
                      int push_limit_s) {
  hog_outcome h;
  options opt;
  opt.sndbuf = 4096;  // the proxy's sends to a hog stall soon
  // and the upstream stops reading soon after (autotuned buffers take MiBs
  // before it does: the case took 10 to 21 s in the VM, 4.4 s with these)
  opt.up_sockbuf = 16384;
  h.o = serve<Runner>(
      cfg,
      [&](uint16_t port, const proxy::params& p) {
        echo2_test::hogs hogs(port, hog_count, spec.seed + 100000);
        const auto t0 = std::chrono::steady_clock::now();
        h.paused_in_time = hogs.push_until(
            [&] { return paused_slots(p, proxy::client) >= hog_count && paused_slots(p, 0) >= hog_count; },
            std::chrono::seconds(push_limit_s));
        h.push_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        echo2_host::load_spec s = spec;
        s.port = port;
        auto r = echo2_host::run_load(s);
        h.hog_bytes = hogs.sent();
        hogs.reset_all();
        return r;
      },
      opt);
  return h;
}

}  // namespace proxy_test
