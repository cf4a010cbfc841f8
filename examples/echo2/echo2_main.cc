// iouloop echo2: a TCP echo server (on 127.0.0.1 unless --address says
// otherwise) whose connections live in
// the ring's fixed file table and share one provided buffer ring, on the
// best engine the kernel has (or the one asked for).
//
//   echo2 [--engine auto|userspace|bpf] [--port P] [--clients N] [--table N] [--buffers N] [--buffer-bytes B]
//         serves until N clients have come and gone (N = 0: until Ctrl-C)
//   echo2 [...] --selftest N
//         also runs N clients itself, from one thread, each sending 3 requests
//         of up to 3000 bytes and checking every echoed byte
//   echo2 [...] --threads T
//         T loops, one per thread, each with its own ring, fixed file table,
//         buffer ring and listener on the one port (SO_REUSEPORT: the kernel
//         spreads the connections); the same engine in each
//   echo2 [...] --address A
//         listens on the IPv4 address A (default 127.0.0.1; 0.0.0.0: every
//         interface, as bench/percore.sh does in the VM for a load from the host)
//
// Ctrl-C (or SIGTERM) stops gracefully: the run returns -EINTR, `stopping`
// goes into the params and the loop runs again, accepting nothing more,
// sending back what it already received, then closing every connection. A
// second Ctrl-C during that ends it at once. With --threads, the main thread
// takes the signal (sigwait) and sends SIGUSR1 to each loop's thread: a loop
// ends its run only for its own thread's signals.
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "examples/common/cli.hpp"
#include "examples/echo/echo_host.hpp"
#include "examples/echo2/echo2_bpf.bpf.h"
#include "examples/echo2/echo2_host.hpp"
#include "examples/echo2/echo2_policy.hpp"
#include "iouloop/engine/select.hpp"

namespace {

constexpr unsigned max_threads = 64;

int usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s [--engine auto|userspace|bpf] [--port P] [--clients N] [--table N] [--buffers N]\n"
      "          [--buffer-bytes B] [--slot-cap K] [--selftest N] [--threads T] [--address A]\n"
      "  serves on A:P (default 127.0.0.1, and port 0: any free one) until N clients have come and gone\n"
      "  (default 0: until Ctrl-C, which stops gracefully); table: fixed file table slots, 1 .. %u\n"
      "  (default 1024); buffers: the shared buffer ring, 1 .. %u (default 128) of B bytes\n"
      "  (1 .. 65536, default 4096); slot-cap: buffers one connection may hold before its recv pauses\n"
      "  (1 .. 255, default buffers / 16, at least 2); --selftest N: N clients from one thread, every byte checked;\n"
      "  --threads T: T loops (1 .. %u), one per thread, each with its own ring and listener on the port\n",
      argv0, echo2::max_slots, echo2::entries, max_threads);
  return 2;
}

volatile sig_atomic_t interrupted_by = 0;
void on_signal(int s) { interrupted_by = s; }
void on_stop_signal(int) {}

// Totals over the loops, each loop's line, and whether every loop kept its
// byte count (received == sent).
bool report(const echo2::params& p, const char* who, double secs) {
  std::printf(
      "%saccepted %u, closed %u; resets %u, half-closed %u; ring ran dry %u times (%u re-arms), table full %u "
      "times; received %llu, sent %llu bytes in %.3f s\n",
      who, p.accepted, p.closed, p.resets, p.eofs, p.enobufs, p.rearms, p.table_full,
      static_cast<unsigned long long>(p.received), static_cast<unsigned long long>(p.sent), secs);
  return p.received == p.sent;
}

// --selftest N: N clients from one thread, 3 requests of up to 3000 bytes each.
echo2_host::load_spec selftest_load(uint16_t port, unsigned long clients) {
  return {.port = port,
          .clients = iouloop::u32(clients),
          .how = echo2_host::kind::echo,
          .requests = 3,
          .request_bytes = 3000,
          .seed = 1,
          .limit_s = 120};
}

// Whether the selftest's clients all got every byte back; says so either way.
bool selftest_passed(const echo2_host::load_result& load, unsigned long selftest, const std::string& where) {
  if (!load.ok() || load.done != selftest || load.echoed != load.sent) {
    std::fprintf(stderr, "echo2: selftest FAILED: %u of %lu clients failed%s; first: %s\n", load.failed, selftest,
                 load.timed_out ? " (time limit)" : "", load.first_error.c_str());
    return false;
  }
  std::printf("selftest: %lu clients%s, %llu bytes echoed and verified byte for byte\n", selftest, where.c_str(),
              static_cast<unsigned long long>(load.echoed));
  return true;
}

// --threads T: one loop per thread. Returns main's exit code.
int serve_threads(const iouloop::engine_choice& choice, in_addr_t address, const std::string& address_text,
                  uint16_t port, unsigned threads, unsigned long clients, unsigned long selftest,
                  const echo2_host::server_config& cfg) {
  // SIGINT and SIGTERM are the main thread's (sigwait), blocked in every
  // thread (the loops inherit the mask); SIGUSR1, with an empty handler and
  // no SA_RESTART, is how the main thread stops a loop.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGUSR1, &sa, nullptr);

  std::vector<std::unique_ptr<echo_host::listener>> lis;
  for (unsigned i = 0; i < threads; ++i)
    lis.push_back(std::make_unique<echo_host::listener>(i ? lis[0]->port() : port, 0, 4096, true, address));
  const uint16_t bound = lis[0]->port();
  std::printf("listening on %s:%u with %u loops, one per thread: %u slots, %u buffers of %u bytes each; %s\n",
              address_text.c_str(), bound, threads, cfg.table, cfg.nbufs, cfg.buf_size,
              clients ? ("serving until " + std::to_string(clients) + " clients have come and gone").c_str()
                      : "serving until Ctrl-C");
  std::fflush(stdout);

  echo2_host::loop_crew crew(threads, [&](unsigned i, echo2_host::loop_crew::member& m) {
    iouloop::ring_options ro;
    ro.sq_entries = 128;
    ro.cq_entries = 4096;
    iouloop::ring ring(ro);
    iouloop::param_region<echo2::policy> params;
    echo2_host::server srv(ring, *params, lis[i]->fd(), cfg);
    iouloop::any_engine<echo2::policy> e(choice, ring, params, echo2_bpf::programs::echo2{});
    echo2_host::loop_crew::serve_until_stopped(m, *params, [&] { return e.run(); });
    m.exit_text = iouloop::describe(e.exit(), m.ret);
  });

  // The clock starts once every loop serves (each made its ring and engine).
  crew.wait_serving(std::chrono::seconds(120));
  auto t0 = std::chrono::steady_clock::now();
  echo2_host::load_result load;
  std::atomic<bool> load_done{false};
  std::thread client_thread;
  if (selftest)
    client_thread = std::thread([&] {
      load = echo2_host::run_load(selftest_load(bound, selftest));
      load_done = true;
    });

  // Until the clients are done (or a signal, or a loop that ended by itself)
  bool stopping = false, cut = false;
  for (;;) {
    struct timespec tick{0, 10 * 1000 * 1000};
    const int s = sigtimedwait(&stop_set, nullptr, &tick);
    if (s > 0) {
      if (stopping) {
        cut = true;
        break;
      }
      std::printf("%s: stopping every loop (accepting nothing more, sending back what was received)\n", strsignal(s));
      std::fflush(stdout);
      stopping = true;
      crew.stop(SIGUSR1, std::chrono::seconds(30));
    }
    if (crew.ended()) break;
    if (stopping) continue;
    bool a_loop_ended = false;  // by itself: it failed, so stop them all
    for (unsigned i = 0; i < crew.size(); ++i) a_loop_ended |= crew[i].phase.load() == echo2_host::loop_crew::done;
    if (a_loop_ended || (selftest && load_done) ||
        (!selftest && clients &&
         crew.total(&echo2::params::closed) + crew.total(&echo2::params::table_full) >= clients)) {
      stopping = true;
      crew.stop(SIGUSR1, std::chrono::seconds(30));
    }
  }
  if (cut) crew.stop(SIGUSR1, std::chrono::seconds(30), true);
  crew.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& l : lis) l->close();
  if (client_thread.joinable()) client_thread.join();

  echo2::params sum{};
  bool ok = true;
  for (unsigned i = 0; i < crew.size(); ++i) {
    const auto& m = crew[i];
    const std::string who = "loop " + std::to_string(i) + ": ";
    if (!m.error.empty()) {
      std::fprintf(stderr, "echo2: %s%s\n", who.c_str(), m.error.c_str());
      ok = false;
      continue;
    }
    ok = report(m.end, who.c_str(), secs) && ok;
    if (m.ret < 0) {
      std::fprintf(stderr, "echo2: %sstopped after %u connections: %s\n", who.c_str(), m.end.accepted,
                   m.exit_text.c_str());
      ok = false;
    }
    sum.accepted += m.end.accepted, sum.closed += m.end.closed, sum.resets += m.end.resets, sum.eofs += m.end.eofs;
    sum.enobufs += m.end.enobufs, sum.rearms += m.end.rearms, sum.table_full += m.end.table_full;
    sum.received += m.end.received, sum.sent += m.end.sent;
  }
  ok = report(sum, "all loops: ", secs) && ok;
  if (cut) {
    std::fprintf(stderr, "echo2: interrupted again while stopping: connections were cut short\n");
    return 1;
  }
  if (selftest && !selftest_passed(load, selftest, " over " + std::to_string(threads) + " loops")) return 1;
  if (!ok) return 1;
  std::printf("stopped gracefully: every byte received was sent back\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string engine = "auto", address_text = "127.0.0.1";
  in_addr_t address = htonl(INADDR_LOOPBACK);
  unsigned long port = 0, clients = 0, selftest = 0, threads = 1;
  echo2_host::server_config cfg;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&](const char* flag) { return example::value_of(argc, argv, i, flag); };
      auto u32_of = [&](const char* flag) {
        const unsigned long v = example::number(flag, value(flag));
        if (v > 0xffffffffu)
          throw iouloop::error(EINVAL, std::string(flag) + " " + std::to_string(v) + " is too large");
        return iouloop::u32(v);
      };
      if (a == "--engine")
        engine = value("--engine");
      else if (a == "--port")
        port = example::number("--port", value("--port"));
      else if (a == "--clients")
        clients = example::number("--clients", value("--clients"));
      else if (a == "--selftest")
        selftest = example::number("--selftest", value("--selftest"));
      else if (a == "--threads")
        threads = example::number("--threads", value("--threads"));
      else if (a == "--address") {
        address_text = value("--address");
        address = example::ipv4("--address", address_text);
      } else if (a == "--slot-cap")
        cfg.slot_cap = u32_of("--slot-cap");
      else if (a == "--table")
        cfg.table = u32_of("--table");
      else if (a == "--buffers")
        cfg.nbufs = u32_of("--buffers");
      else if (a == "--buffer-bytes")
        cfg.buf_size = u32_of("--buffer-bytes");
      else if (a == "-h" || a == "--help")
        return usage(argv[0]);
      else
        throw iouloop::error(EINVAL, "unknown argument '" + a + "' (see --help)");
    }
    if (port > 65535) throw iouloop::error(EINVAL, "--port " + std::to_string(port) + " is outside 0 .. 65535");
    if (const std::string bad = echo2_host::config_problem(cfg); !bad.empty()) throw iouloop::error(EINVAL, bad);
    if (selftest > 60000) throw iouloop::error(EINVAL, "--selftest " + std::to_string(selftest) + ": at most 60000");
    if (selftest && address != htonl(INADDR_LOOPBACK))
      throw iouloop::error(EINVAL, "--selftest's clients connect to 127.0.0.1: drop --address");
    if (selftest && clients && clients != selftest)
      throw iouloop::error(EINVAL, "--selftest N serves exactly its N clients: drop --clients");
    if (selftest > cfg.table)
      throw iouloop::error(EINVAL, "--selftest " + std::to_string(selftest) +
                                       " runs its clients at once: it needs as many slots (--table, at most " +
                                       std::to_string(echo2::max_slots) + ")");
    if (threads < 1 || threads > max_threads)
      throw iouloop::error(EINVAL,
                           "--threads " + std::to_string(threads) + " is outside 1 .. " + std::to_string(max_threads));
    if (selftest) clients = selftest;
    cfg.expect = threads == 1 ? iouloop::u32(clients) : 0;  // more loops: the main thread counts and stops them

    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(engine));
    std::printf("engine: %s\n", choice.describe().c_str());

    echo_host::ensure_loopback();
    echo2_host::raise_fd_limit(rlim_t(cfg.table) * threads + selftest + 64);
    if (threads > 1)
      return serve_threads(choice, address, address_text, static_cast<uint16_t>(port), unsigned(threads), clients,
                           selftest, cfg);
    echo_host::listener lis(static_cast<uint16_t>(port), 0, 4096, false, address);
    iouloop::ring_options ro;
    ro.sq_entries = 128;
    ro.cq_entries = 4096;
    iouloop::ring ring(ro);
    iouloop::param_region<echo2::policy> params;
    echo2_host::server srv(ring, *params, lis.fd(), cfg);
    iouloop::any_engine<echo2::policy> e(choice, ring, params, echo2_bpf::programs::echo2{});

    struct sigaction sa{};
    sa.sa_handler = on_signal;  // no SA_RESTART: the loop's wait sees EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::printf("listening on %s:%u: %u slots, %u buffers of %u bytes; %s\n", address_text.c_str(), lis.port(),
                cfg.table, cfg.nbufs, cfg.buf_size,
                clients ? ("serving until " + std::to_string(clients) +
                           (clients == 1 ? " client has" : " clients have") + " come and gone")
                              .c_str()
                        : "serving until Ctrl-C");
    std::fflush(stdout);

    echo2_host::load_result load;
    std::thread client_thread;
    std::atomic<bool> clients_done{false};
    const pthread_t server_thread = pthread_self();
    if (selftest)
      client_thread = std::thread([&, p = lis.port()] {
        load = echo2_host::run_load(selftest_load(p, selftest));
        if (!load.ok()) ::pthread_kill(server_thread, SIGTERM);  // the server would wait for them: stop it
        clients_done.store(true, std::memory_order_release);
      });

    auto t0 = std::chrono::steady_clock::now();
    int ret = e.run();
    bool stopped = false;
    if (ret == -EINTR) {  // Ctrl-C: stop gracefully
      std::printf("%s: stopping (accepting nothing more, sending back what was received)\n",
                  strsignal(interrupted_by ? interrupted_by : SIGINT));
      std::fflush(stdout);
      params->stopping = 1;
      stopped = true;
      ret = e.run();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lis.close();
    echo_host::join_clients_settling(e, ring, client_thread, clients_done);

    const echo2::params& p = *params;
    std::printf(
        "accepted %u, closed %u; resets %u, half-closed %u; ring ran dry %u times (%u re-arms), table full %u "
        "times; received %llu, sent %llu bytes in %.3f s\n",
        p.accepted, p.closed, p.resets, p.eofs, p.enobufs, p.rearms, p.table_full,
        static_cast<unsigned long long>(p.received), static_cast<unsigned long long>(p.sent), secs);

    if (ret == -EINTR) throw iouloop::error(EINTR, "interrupted again while stopping: connections were cut short");
    if (ret < 0)
      throw iouloop::error(-ret, "the server stopped after " + std::to_string(p.accepted) +
                                     " connections: " + iouloop::describe(e.exit(), ret));
    if (p.received != p.sent)
      throw iouloop::error(EIO, "received " + std::to_string(p.received) + " bytes but sent " + std::to_string(p.sent));
    if (selftest && !selftest_passed(load, selftest, "")) return 1;
    if (stopped) std::printf("stopped gracefully: every byte received was sent back\n");
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "echo2: %s\n", e.what());
    return 1;
  }
}
