// iouloop proxy: a TCP proxy on 127.0.0.1 whose client and upstream sockets
// live in the ring's fixed file table and share one provided buffer ring, on
// the best engine the kernel has (or the one asked for).
//
//   proxy --upstream HOST:PORT [--engine auto|userspace|bpf] [--port P] [--clients N] [--table N]
//         [--buffers N] [--buffer-bytes B] [--slot-cap K]
//         relays each client to HOST:PORT (numeric: 127.0.0.1:7000, or IPv6 in brackets: [::1]:7000,
//         a link-local one with its interface: [fe80::1%eth0]:7000)
//         until N clients have come and gone (N = 0: until Ctrl-C)
//   proxy [...] --selftest N
//         starts its own echo upstream and runs N clients from one thread, each
//         sending 3 requests of up to 3000 bytes through the proxy and checking
//         every byte that comes back
//
// Ctrl-C (or SIGTERM) stops gracefully: the run returns -EINTR, `stopping`
// goes into the params and the loop runs again, accepting nothing more and
// reading nothing more from the clients: what they sent goes upstream, the
// upstream gets a FIN, its answers still reach the clients until it closes
// its side. A second Ctrl-C during that ends it at once.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "examples/common/cli.hpp"
#include "examples/echo/echo_host.hpp"
#include "examples/echo2/echo2_host.hpp"
#include "examples/proxy/proxy_bpf.bpf.h"
#include "examples/proxy/proxy_host.hpp"
#include "examples/proxy/proxy_policy.hpp"
#include "iouloop/engine/select.hpp"

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s (--upstream HOST:PORT | --selftest N) [--engine auto|userspace|bpf] [--port P]\n"
               "          [--clients N] [--table N] [--buffers N] [--buffer-bytes B] [--slot-cap K]\n"
               "  relays clients of 127.0.0.1:P (default 0: any free port) to HOST:PORT (numeric IPv4, or\n"
               "  IPv6 in brackets: [::1]:7000, link-local with its interface: [fe80::1%%eth0]:7000) until N\n"
               "  clients have come and gone (default 0: until Ctrl-C, which stops gracefully); table: fixed\n"
               "  file table slots, two per client, 2 .. %u (default 512); buffers: the shared buffer ring,\n"
               "  1 .. %u (default 128) of B bytes (1 .. 65536, default 4096); slot-cap: buffers one direction\n"
               "  of a pair may hold before its recv pauses (1 .. 255, default buffers / 16, at least 2);\n"
               "  --selftest N: an echo upstream of its own and N clients from one thread, every byte checked\n",
               argv0, proxy::max_slots, proxy::entries);
  return 2;
}

volatile sig_atomic_t interrupted_by = 0;
void on_signal(int s) { interrupted_by = s; }

}  // namespace

int main(int argc, char** argv) {
  std::string engine = "auto", upstream;
  unsigned long port = 0, clients = 0, selftest = 0;
  proxy_host::server_config cfg;
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
      else if (a == "--upstream")
        upstream = value("--upstream");
      else if (a == "--port")
        port = example::number("--port", value("--port"));
      else if (a == "--clients")
        clients = example::number("--clients", value("--clients"));
      else if (a == "--selftest")
        selftest = example::number("--selftest", value("--selftest"));
      else if (a == "--table")
        cfg.table = u32_of("--table");
      else if (a == "--buffers")
        cfg.nbufs = u32_of("--buffers");
      else if (a == "--buffer-bytes")
        cfg.buf_size = u32_of("--buffer-bytes");
      else if (a == "--slot-cap")
        cfg.slot_cap = u32_of("--slot-cap");
      else if (a == "-h" || a == "--help")
        return usage(argv[0]);
      else
        throw iouloop::error(EINVAL, "unknown argument '" + a + "' (see --help)");
    }
    if (port > 65535) throw iouloop::error(EINVAL, "--port " + std::to_string(port) + " is outside 0 .. 65535");
    if (upstream.empty() == !selftest)
      throw iouloop::error(EINVAL, "give either --upstream HOST:PORT or --selftest N (see --help)");
    if (!upstream.empty())
      if (const std::string bad = proxy_host::parse_upstream(upstream, cfg); !bad.empty())
        throw iouloop::error(EINVAL, "--upstream " + bad);
    if (selftest > 60000) throw iouloop::error(EINVAL, "--selftest " + std::to_string(selftest) + ": at most 60000");
    if (selftest && clients && clients != selftest)
      throw iouloop::error(EINVAL, "--selftest N serves exactly its N clients: drop --clients");
    if (selftest > cfg.table / 2)
      throw iouloop::error(EINVAL, "--selftest " + std::to_string(selftest) +
                                       " runs its clients at once: it needs two slots each (--table, at most " +
                                       std::to_string(proxy::max_slots) + ")");
    if (selftest) clients = selftest;
    cfg.expect = iouloop::u32(clients);

    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(engine));
    std::printf("engine: %s\n", choice.describe().c_str());

    echo_host::ensure_loopback();
    echo2_host::raise_fd_limit(rlim_t(cfg.table) + 2 * selftest + 64);
    std::optional<proxy_host::echo_upstream> own_upstream;
    if (selftest) cfg.upstream_port = own_upstream.emplace().port();
    if (const std::string bad = proxy_host::config_problem(cfg); !bad.empty()) throw iouloop::error(EINVAL, bad);
    echo_host::listener lis(static_cast<uint16_t>(port), 0, 4096);
    iouloop::ring_options ro;
    ro.sq_entries = 128;
    ro.cq_entries = 4096;
    iouloop::ring ring(ro);
    iouloop::param_region<proxy::policy> params;
    proxy_host::server srv(ring, *params, lis.fd(), cfg);
    iouloop::any_engine<proxy::policy> e(choice, ring, params, proxy_bpf::programs::proxy{});

    struct sigaction sa{};
    sa.sa_handler = on_signal;  // no SA_RESTART: the loop's wait sees EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::printf(
        "listening on 127.0.0.1:%u, upstream %s: %u slots, %u buffers of %u bytes; %s\n", lis.port(),
        selftest ? ("127.0.0.1:" + std::to_string(cfg.upstream_port) + " (echo, our own)").c_str() : upstream.c_str(),
        cfg.table, cfg.nbufs, cfg.buf_size,
        clients ? ("serving until " + std::to_string(clients) + (clients == 1 ? " client has" : " clients have") +
                   " come and gone")
                      .c_str()
                : "serving until Ctrl-C");
    std::fflush(stdout);

    echo2_host::load_result load;
    std::thread client_thread;
    std::atomic<bool> clients_done{false};
    const pthread_t server_thread = pthread_self();
    if (selftest)
      client_thread = std::thread([&, p = lis.port()] {
        load = echo2_host::run_load({.port = p,
                                     .clients = iouloop::u32(selftest),
                                     .how = echo2_host::kind::echo,
                                     .requests = 3,
                                     .request_bytes = 3000,
                                     .seed = 1,
                                     .limit_s = 120});
        if (!load.ok()) ::pthread_kill(server_thread, SIGTERM);  // the proxy would wait for them: stop it
        clients_done.store(true, std::memory_order_release);
      });

    auto t0 = std::chrono::steady_clock::now();
    int ret = e.run();
    bool stopped = false;
    if (ret == -EINTR) {  // Ctrl-C: stop gracefully
      std::printf("%s: stopping (accepting nothing more, reading no more from the clients)\n",
                  strsignal(interrupted_by ? interrupted_by : SIGINT));
      std::fflush(stdout);
      params->stopping = 1;
      stopped = true;
      ret = e.run();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lis.close();
    echo_host::join_clients_settling(e, ring, client_thread, clients_done);

    const proxy::params& p = *params;
    std::printf(
        "accepted %u, connected %u, refused %u, closed %u; resets %u, half-closes %u (clients) %u (upstreams); "
        "ring ran dry %u times; cap %u buffers a direction: recvs paused %u (clients) %u (upstreams); "
        "bytes client->upstream %llu of %llu received, upstream->client %llu of %llu, dropped %llu; %.3f s\n",
        p.accepted, p.connected, p.refused, p.clients_closed, p.resets, p.client_eofs, p.upstream_eofs, p.enobufs,
        p.slot_cap, p.client_pauses, p.upstream_pauses, static_cast<unsigned long long>(p.to_upstream),
        static_cast<unsigned long long>(p.from_client), static_cast<unsigned long long>(p.to_client),
        static_cast<unsigned long long>(p.from_upstream), static_cast<unsigned long long>(p.dropped), secs);

    if (ret == -EINTR) throw iouloop::error(EINTR, "interrupted again while stopping: connections were cut short");
    if (ret < 0)
      throw iouloop::error(-ret, "the proxy stopped after " + std::to_string(p.accepted) +
                                     " clients: " + iouloop::describe(e.exit(), ret));
    if (p.from_client + p.from_upstream != p.to_upstream + p.to_client + p.dropped)
      throw iouloop::error(EIO, "bytes received and bytes sent or dropped differ");
    if (selftest) {
      if (!load.ok() || load.done != selftest || load.echoed != load.sent) {
        std::fprintf(stderr, "proxy: selftest FAILED: %u of %lu clients failed%s; first: %s\n", load.failed, selftest,
                     load.timed_out ? " (time limit)" : "", load.first_error.c_str());
        return 1;
      }
      std::printf("selftest: %lu clients, %llu bytes relayed both ways and verified byte for byte\n", selftest,
                  static_cast<unsigned long long>(load.echoed));
    }
    if (stopped) std::printf("stopped gracefully: every byte received was sent on\n");
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "proxy: %s\n", e.what());
    return 1;
  }
}
