// iouloop echo: a TCP echo server on 127.0.0.1, on the best engine the
// kernel has (or the one asked for).
//
//   echo [--engine auto|userspace|bpf] [--port P] [--clients N] [--slots N] [--slot-bytes B]
//        serves until N clients have come and gone (N = 0: until Ctrl-C)
//   echo [--engine ...] --selftest N
//        also runs N clients itself, each sending 256 KiB of pseudo-random
//        data in random-sized chunks and checking every echoed byte
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_host.hpp"
#include "examples/echo/echo_policy.hpp"
#include "examples/common/cli.hpp"
#include "iouloop/engine/select.hpp"

namespace {

constexpr size_t selftest_bytes = 256 << 10;
constexpr size_t selftest_max_chunk = 65536;
constexpr int selftest_limit_s = 300;

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--engine auto|userspace|bpf] [--port P] [--clients N] [--slots N] [--slot-bytes B]\n"
               "       %s [--engine ...] [--slots N] [--slot-bytes B] --selftest N\n"
               "  serves on 127.0.0.1:P (default 0: any free port) until N clients have come and gone\n"
               "  (default 0: until interrupted); slots: connections at once, 1 .. %u (default %u);\n"
               "  slot-bytes: receive buffer per connection, 1 .. 16777216 (default 16384)\n",
               argv0, argv0, echo::max_conns, echo::max_conns);
  return 2;
}

volatile sig_atomic_t interrupted_by = 0;
void on_signal(int s) { interrupted_by = s; }

}  // namespace

int main(int argc, char** argv) {
  std::string engine = "auto";
  unsigned long port = 0, clients = 0, selftest = 0, slots = echo::max_conns, slot_bytes = 16384;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&](const char* flag) { return example::value_of(argc, argv, i, flag); };
      if (a == "--engine")
        engine = value("--engine");
      else if (a == "--port")
        port = example::number("--port", value("--port"));
      else if (a == "--clients")
        clients = example::number("--clients", value("--clients"));
      else if (a == "--selftest")
        selftest = example::number("--selftest", value("--selftest"));
      else if (a == "--slots")
        slots = example::number("--slots", value("--slots"));
      else if (a == "--slot-bytes")
        slot_bytes = example::number("--slot-bytes", value("--slot-bytes"));
      else if (a == "-h" || a == "--help")
        return usage(argv[0]);
      else
        throw iouloop::error(EINVAL, "unknown argument '" + a + "' (see --help)");
    }
    if (port > 65535) throw iouloop::error(EINVAL, "--port " + std::to_string(port) + " is outside 0 .. 65535");
    if (slots < 1 || slots > echo::max_conns)
      throw iouloop::error(EINVAL,
                           "--slots " + std::to_string(slots) + " is outside 1 .. " + std::to_string(echo::max_conns));
    if (slot_bytes < 1 || slot_bytes > (16ul << 20))
      throw iouloop::error(EINVAL, "--slot-bytes " + std::to_string(slot_bytes) + " is outside 1 .. 16777216");
    if (selftest > slots)
      throw iouloop::error(EINVAL, "--selftest " + std::to_string(selftest) +
                                       " runs its clients at once: it needs "
                                       "as many slots (--slots, at most " +
                                       std::to_string(echo::max_conns) + ")");
    if (selftest && clients && clients != selftest)
      throw iouloop::error(EINVAL, "--selftest N serves exactly its N clients: drop --clients");
    if (selftest) clients = selftest;

    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(engine));
    std::printf("engine: %s\n", choice.describe().c_str());

    echo_host::ensure_loopback();
    echo_host::listener lis(static_cast<uint16_t>(port));
    echo_host::slot_buffers bufs{iouloop::u32(slots), iouloop::u32(slot_bytes)};
    iouloop::ring ring;
    iouloop::param_region<echo::policy> params(
        echo::make_params(lis.fd(), bufs.addr(), iouloop::u32(slots), iouloop::u32(slot_bytes), iouloop::u32(clients)));
    iouloop::any_engine<echo::policy> e(choice, ring, params, echo_bpf::programs::echo{});

    // Ctrl-C or SIGTERM end the run (-EINTR) and the summary is still printed.
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::printf("listening on 127.0.0.1:%u, %lu slots of %lu bytes; %s\n", lis.port(), slots, slot_bytes,
                clients ? ("serving until " + std::to_string(clients) +
                           (clients == 1 ? " client has" : " clients have") + " come and gone")
                              .c_str()
                        : "serving until interrupted (Ctrl-C)");
    std::fflush(stdout);

    std::vector<echo_host::client_result> results;
    std::thread client_thread;
    std::atomic<bool> clients_done{false};
    std::optional<echo_host::watchdog> dog;
    if (selftest) {
      dog.emplace(std::chrono::seconds(selftest_limit_s));
      client_thread = std::thread([&, p = lis.port()] {
        results = echo_host::concurrent_clients(p, iouloop::u32(selftest), selftest_bytes, selftest_max_chunk, 1);
        dog->clients_done(std::chrono::seconds(10));
        clients_done.store(true, std::memory_order_release);
      });
    }

    auto t0 = std::chrono::steady_clock::now();
    int ret = e.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool watchdog_fired = dog && (dog->disarm(), dog->fired());
    echo_host::close_open_slots(*params);  // after an early stop, the clients see the end
    lis.close();
    echo_host::join_clients_settling(e, ring, client_thread, clients_done);

    const echo::params& p = *params;
    std::printf(
        "accepted %u, closed %u, rejected %u (no free slot), connection errors %u, short sends %u; "
        "echoed %llu bytes in %.3f s (%.1f MiB/s)\n",
        p.accepted, p.closed, p.rejected, p.conn_errors, p.short_sends, p.bytes_echoed, secs,
        p.bytes_echoed / 1048576.0 / (secs > 0 ? secs : 1e-9));

    if (ret == -EINTR) {
      if (watchdog_fired)
        throw iouloop::error(ETIMEDOUT,
                             "selftest: the server did not finish within " + std::to_string(selftest_limit_s) + " s");
      if (!clients) return 0;  // serving until interrupted: that is the normal end
      throw iouloop::error(EINTR, std::string("interrupted by ") + strsignal(interrupted_by ? interrupted_by : SIGINT) +
                                      " after " + std::to_string(p.closed + p.rejected) + " of " +
                                      std::to_string(clients) + " clients");
    }
    if (ret == -EBUSY)
      throw iouloop::error(EBUSY,
                           "the server stopped: the submission queue was full (the ring needs 17 SQ "
                           "entries at least): " +
                               iouloop::describe(e.exit(), ret));
    if (ret < 0)
      throw iouloop::error(-ret, "the server stopped after " + std::to_string(p.accepted) +
                                     " connections: " + iouloop::describe(e.exit(), ret));

    if (selftest) {
      int bad = 0;
      for (size_t i = 0; i < results.size(); ++i)
        if (!results[i].ok) {
          std::fprintf(stderr, "echo: selftest client %zu: %s\n", i, results[i].error.c_str());
          ++bad;
        }
      const unsigned long long want = selftest * selftest_bytes;
      if (bad || results.size() != selftest || p.bytes_echoed != want || p.closed != selftest) {
        std::fprintf(stderr, "echo: selftest FAILED: %d of %lu clients failed; %llu of %llu bytes echoed\n", bad,
                     selftest, p.bytes_echoed, want);
        return 1;
      }
      std::printf("selftest: %lu clients x %zu bytes echoed and verified byte for byte\n", selftest, selftest_bytes);
    }
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "echo: %s\n", e.what());
    return 1;
  }
}
