// Host side of the echo2 cases (examples/echo2/echo2_table.hpp): one server
// run on a runner's engine while a client load runs in another thread, with
// a time limit on both, a second run after an interrupt (the graceful stop),
// and the resource census around it all.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "examples/echo/echo_host.hpp"
#include "examples/echo2/echo2_host.hpp"
#include "examples/echo2/echo2_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/census.hpp"
#include "tests/support/signals.hpp"

namespace echo2_test {

using iouloop::u32;
using iouloop::u64;

// The VM runs the cases under QEMU TCG, tens of times slower: fewer clients
// there, still hundreds where the case is about many.
inline u32 scaled(u32 host, u32 vm) { return std::getenv("IOULOOP_IN_VM") ? vm : host; }

struct outcome {
  int ret = 0;   // the last run()
  int runs = 0;  // run() calls: 2 after an interrupt and a graceful stop
  bool watchdog_fired = false;
  u64 held_at_interrupt = 0;  // bytes received and not yet sent when the first run returned -EINTR
  echo2::params end{};
  std::string exit_text;
  echo2_host::load_result load;
};

// SIGINT to this thread once `ready()` holds; the old disposition is back
// when it goes. The handler is empty and has no SA_RESTART, so the loop's
// wait sees EINTR and run() returns -EINTR.
class sigint_when {
 public:
  explicit sigint_when(std::function<bool()> ready) {
    struct sigaction sa{};
    sa.sa_handler = [](int) {};
    ::sigaction(SIGINT, &sa, &old_);
    sender_.emplace(0, SIGINT, std::move(ready));
  }
  ~sigint_when() {
    sender_.reset();
    ::sigaction(SIGINT, &old_, nullptr);
  }

 private:
  struct sigaction old_{};
  std::optional<iouloop_test::signal_after> sender_;
};

// glibc keeps what threads leave behind for the next ones: the stacks of
// joined threads (each with its guard page) and a malloc arena per thread
// that allocated while others did (a reserved region and its used part). A
// case's first threads at once (client load, watchdog, signal sender) would
// show as mappings more. Made once here, before any count, by four threads
// that allocate at the same time.
inline void warm_thread_stacks() {
  static const bool done = [] {
    auto work = [] {
      std::vector<char> v(1 << 16, 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      (void)v;
    };
    std::thread a(work), b(work), c(work), d(work);
    a.join(), b.join(), c.join(), d.join();
    return true;
  }();
  (void)done;
}

struct options {
  int sndbuf = 0;  // the server sockets' SO_SNDBUF (0: default)
  // SIGINT to the loop's thread once this holds of the params (as another thread sees them)
  std::function<bool(const echo2::params&)> interrupt_when;
  std::function<void()> on_interrupt;  // after the interrupted run, before the second
  int limit_s = 60;
};

// Serves with `cfg` on Runner while `load(port, params)` runs in another
// thread (params as the loop leaves them: read with iouloop_test::watch).
// A run() that returns -EINTR, not from the watchdog, is the graceful stop:
// `stopping` goes into the params, `on_interrupt()` runs, and the loop runs
// again. The watchdog (SIGUSR1) ends a run that hangs: `limit_s` in all, or
// 10 s after the load is done.
template <class Runner>
outcome serve(const echo2_host::server_config& cfg,
              std::function<echo2_host::load_result(uint16_t, const echo2::params&)> load, const options& opt = {}) {
  echo_host::ensure_loopback();
  echo2_host::raise_fd_limit(rlim_t(cfg.table) + 1400);  // the table, and up to 1200 clients in this process
  outcome o;
  warm_thread_stacks();
  const census before = census::settled();
  {
    echo_host::listener lis(0, opt.sndbuf, 4096);
    iouloop::ring_options ro;
    ro.sq_entries = 128;
    ro.cq_entries = 4096;
    typename Runner::template session<echo2::policy> s(ro);
    echo2_host::server srv(s.ring(), s.params(), lis.fd(), cfg);
    {
      echo_host::watchdog dog{std::chrono::seconds(opt.limit_s)};
      std::atomic<bool> load_done{false};
      std::thread t([&, port = lis.port()] {
        o.load = load(port, s.params());
        dog.clients_done(std::chrono::seconds(10));
        load_done.store(true, std::memory_order_release);
      });
      std::optional<sigint_when> interrupt;
      if (opt.interrupt_when) interrupt.emplace([&] { return opt.interrupt_when(s.params()); });
      o.ret = s.run();
      o.runs = 1;
      if (o.ret == -EINTR && !dog.fired()) {
        const echo2::params& p = s.params();
        o.held_at_interrupt = p.received - p.sent;
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
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
  return o;
}

// The load of the simplest cases: `spec` on the server's port.
inline std::function<echo2_host::load_result(uint16_t, const echo2::params&)> load_of(
    const echo2_host::load_spec& spec) {
  return [spec](uint16_t port, const echo2::params&) {
    echo2_host::load_spec s = spec;
    s.port = port;
    return echo2_host::run_load(s);
  };
}

// `first`, then, once the server has seen `gone` connections come and go
// (closed, or turned away with the table full; 20 s at most), `second`,
// whose result is returned; `first_result` gets the first's.
inline echo2_host::load_result two_waves(uint16_t port, const echo2::params& p, echo2_host::load_spec first,
                                         echo2_host::load_spec second, echo2_host::load_result& first_result,
                                         u32 gone) {
  first.port = second.port = port;
  first_result = echo2_host::run_load(first);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (iouloop_test::watch(p.closed) + iouloop_test::watch(p.table_full) < gone &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return echo2_host::run_load(second);
}

// What a loop leaves when it ended cleanly: every slot closed, every buffer
// back in the ring, nothing in flight, every byte received sent or counted
// as dropped.
inline void require_clean_end(const echo2::params& end, const echo2_host::server_config& cfg) {
  REQUIRE(end.in_flight == 0);
  REQUIRE(end.open_slots == 0);
  REQUIRE(end.accepted == end.closed);
  REQUIRE(end.in_ring == cfg.nbufs);
  REQUIRE(end.received == end.sent + end.dropped);
  REQUIRE(end.ready_head == end.ready_tail);
  REQUIRE(end.starved_head == end.starved_tail);
  for (u32 i = 0; i < echo2::max_slots; ++i) REQUIRE(end.st[i] == 0);
}

// The loop stopped by itself with every slot closed, every buffer back in
// the ring, and nothing in flight; every client did as its kind should.
inline void require_clean(const outcome& o, const echo2_host::server_config& cfg) {
  INFO("run() = " << o.ret << (o.watchdog_fired ? " (the watchdog interrupted it: the server did not finish)" : "")
                  << ": " << o.exit_text);
  INFO("load: " << o.load.done << " done, " << o.load.failed << " failed" << (o.load.timed_out ? " (timed out)" : "")
                << "; first failure: " << o.load.first_error);
  REQUIRE(o.ret == 0);
  REQUIRE(o.load.ok());
  require_clean_end(o.end, cfg);
}

// One loop per thread (echo2_host::loop_crew), each on its own ring and its
// own SO_REUSEPORT listener on one port, while `load(port)` runs; then the
// stop goes to every loop (SIGUSR1 to each thread) and each runs its
// graceful stop. Census around it all.
struct crew_member_outcome {
  int ret = 0, runs = 0;
  echo2::params end{};
  std::string exit_text, error;
};
struct crew_outcome {
  bool stopped_in_time = false;
  std::vector<crew_member_outcome> loops;
  echo2_host::load_result load;
};

template <class Runner>
crew_outcome serve_crew(const echo2_host::server_config& cfg, u32 threads,
                        std::function<echo2_host::load_result(uint16_t)> load) {
  echo_host::ensure_loopback();
  echo2_host::raise_fd_limit(rlim_t(cfg.table) * threads + 1400);
  iouloop_test::catch_sigusr1();
  crew_outcome o;
  warm_thread_stacks();
  const census before = census::settled();
  {
    std::vector<std::unique_ptr<echo_host::listener>> lis;
    for (u32 i = 0; i < threads; ++i)
      lis.push_back(std::make_unique<echo_host::listener>(i ? lis[0]->port() : 0, 0, 4096, true));
    echo2_host::loop_crew crew(threads, [&](u32 i, echo2_host::loop_crew::member& m) {
      iouloop::ring_options ro;
      ro.sq_entries = 128;
      ro.cq_entries = 4096;
      typename Runner::template session<echo2::policy> s(ro);
      echo2_host::server srv(s.ring(), s.params(), lis[i]->fd(), cfg);
      echo2_host::loop_crew::serve_until_stopped(m, s.params(), [&] { return s.run(); });
      m.exit_text = iouloop::describe(s.exit(), m.ret);
    });
    o.load = load(lis[0]->port());
    o.stopped_in_time = crew.stop(SIGUSR1, std::chrono::seconds(20));
    if (!o.stopped_in_time && !crew.stop(SIGUSR1, std::chrono::seconds(10), true)) {
      std::fprintf(stderr, "echo2 crew: a loop did not end after its stop was sent for 30 s: giving up\n");
      std::abort();  // its thread still uses this frame
    }
    crew.join();
    for (u32 i = 0; i < threads; ++i)
      o.loops.push_back({crew[i].ret, crew[i].runs, crew[i].end, crew[i].exit_text, crew[i].error});
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
  return o;
}

// Clients that send and never read: nonblocking sockets with a small
// receive buffer, pushed with the byte stream of their seed until the
// socket takes no more. reset_all() leaves with an RST (SO_LINGER 0).
class hogs {
 public:
  hogs(uint16_t port, u32 n, u64 seed) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    for (u32 i = 0; i < n; ++i) {
      iouloop::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      REQUIRE(fd);
      const int small = 4096;
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
      REQUIRE(::fcntl(fd.get(), F_SETFL, O_NONBLOCK) == 0);
      fds_.push_back(std::move(fd));
      out_.emplace_back(seed + i);
    }
  }
  // Sends what the sockets take, every millisecond, until `enough()` holds
  // or `limit` has passed; true if it held.
  bool push_until(const std::function<bool()>& enough, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    std::vector<uint8_t> buf(16384);
    while (!enough()) {
      if (std::chrono::steady_clock::now() > until) return false;
      for (size_t i = 0; i < fds_.size(); ++i) {
        iouloop_examples::byte_stream peek = out_[i];
        for (auto& b : buf) b = peek.next();
        const ssize_t w = ::send(fds_[i].get(), buf.data(), buf.size(), MSG_NOSIGNAL);
        if (w > 0) {
          for (ssize_t k = 0; k < w; ++k) out_[i].next();
          sent_ += u64(w);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  u64 sent() const { return sent_; }
  void reset_all() {
    for (auto& fd : fds_) {
      struct linger l{1, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
      fd.reset();
    }
  }

 private:
  std::vector<iouloop::unique_fd> fds_;
  std::vector<iouloop_examples::byte_stream> out_;
  u64 sent_ = 0;
};

}  // namespace echo2_test
