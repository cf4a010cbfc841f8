// The proxy cases, once per test binary after `#define IOULOOP_RUNNER`
// (tests/support/runners.hpp: userspace_runner, or bpf_runner with an
// IOULOOP_PROGRAM_FOR declaration), so both engines run the very same cases.
// Each has a time limit (the client load's and the proxy's watchdog); the
// client bytes come from byte_stream(seed + client), the seed is printed.
// The upstream echoes, so each client checks every byte that went both ways.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including examples/proxy/proxy_table.hpp"
#endif
#if defined(IOULOOP_TABLE_EXAMPLES_PROXY_PROXY_TABLE_HPP)
#error "examples/proxy/proxy_table.hpp defines test cases: include it once per test binary"
#endif
#define IOULOOP_TABLE_EXAMPLES_PROXY_PROXY_TABLE_HPP

#include "examples/proxy/proxy_cases.hpp"

using echo2_host::kind;
using echo2_host::load_spec;
using proxy_host::server_config;

TEST_CASE("proxy: many clients at once, every byte relayed both ways through one buffer ring", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = proxy_test::scaled(300, 64);
  const server_config cfg{.table = 2 * clients, .nbufs = 256, .buf_size = 2048, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 1000};
  CAPTURE(clients, spec.seed);
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec));
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  REQUIRE(o.load.done == clients);
  REQUIRE(o.upstream_connections == clients);
  REQUIRE((e.accepted == clients && e.connected == clients && e.refused == 0 && e.resets == 0));
  // each client half-closes after its last echo: then the upstream does
  REQUIRE((e.client_eofs == clients && e.upstream_eofs == clients && e.shutdowns == 2 * clients));
  REQUIRE((e.from_client == o.load.sent && e.to_upstream == o.load.sent));
  REQUIRE((e.from_upstream == o.load.sent && e.to_client == o.load.sent && o.load.echoed == o.load.sent));
  REQUIRE(e.dropped == 0);
  // the host bounds the first multishot recvs where the kernel can (io_recvmsg_prep, sqe->optlen)
  REQUIRE(e.recv_limit == (iouloop::kernel_has_recv_total_limit() ? 1u : 0u));
}

// A kernel before 6.17 refuses a multishot recv with a total limit (-EINVAL:
// io_recvmsg_prep read the field as file_index): the host then arms them
// without one. The same policy, with the limit off, on any kernel.
TEST_CASE("proxy: without the recv total limit (as on kernels before 6.17): every byte relayed", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = proxy_test::scaled(100, 40);
  const server_config cfg{
      .table = 2 * clients, .nbufs = 32, .buf_size = 1024, .expect = clients, .slot_cap = 4, .recv_limit = false};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 6000, .seed = 1100};
  CAPTURE(clients, spec.seed);
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec));
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  REQUIRE(e.recv_limit == 0);
  REQUIRE(o.load.done == clients);
  REQUIRE((e.accepted == clients && e.connected == clients && e.refused == 0 && e.resets == 0));
  REQUIRE((e.from_client == o.load.sent && e.to_upstream == o.load.sent));
  REQUIRE((e.from_upstream == o.load.sent && e.to_client == o.load.sent && o.load.echoed == o.load.sent));
}

TEST_CASE("proxy: an upstream on IPv6 ([::1]): an AF_INET6 socket and a 28-byte connect, every byte relayed",
          "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  if (const std::string why = proxy_test::ipv6_loopback_problem(); !why.empty()) SKIP("no IPv6 loopback here: " << why);
  const iouloop::u32 clients = proxy_test::scaled(40, 16);
  const server_config cfg{.table = 2 * clients, .nbufs = 64, .buf_size = 2048, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 1500};
  CAPTURE(clients, spec.seed);
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec), {.ipv6_upstream = true});
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  REQUIRE(e.upstream.family == AF_INET6);
  REQUIRE(e.upstream.length == sizeof(sockaddr_in6));
  REQUIRE(o.load.done == clients);
  REQUIRE(o.upstream_connections == clients);
  REQUIRE((e.accepted == clients && e.connected == clients && e.refused == 0 && e.resets == 0));
  REQUIRE((e.from_client == o.load.sent && e.to_upstream == o.load.sent));
  REQUIRE((e.from_upstream == o.load.sent && e.to_client == o.load.sent && o.load.echoed == o.load.sent));
}

// A link-local upstream is reached only through its interface: the zone in
// --upstream goes into sin6_scope_id (proxy_host::upstream_problem), the
// params carry it to the connect, and the kernel's tcp_v6_connect() refuses
// a link-local address whose scope id is 0 (-EINVAL).
TEST_CASE("proxy: a link-local IPv6 upstream (fe80::...%interface): its zone reaches the connect", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const proxy_test::link_local ll = proxy_test::link_local_here();
  if (!ll.problem.empty()) SKIP("no link-local IPv6 address here: " << ll.problem);
  const iouloop::u32 clients = proxy_test::scaled(16, 8);
  const server_config cfg{.table = 2 * clients, .nbufs = 64, .buf_size = 2048, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 1600};
  CAPTURE(clients, spec.seed, ll.host);
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec), {.link_local_upstream = &ll});
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  sockaddr_in6 sent{};
  std::memcpy(&sent, &e.upstream, sizeof sent);
  REQUIRE(e.upstream.family == AF_INET6);
  REQUIRE(IN6_IS_ADDR_LINKLOCAL(&sent.sin6_addr));
  REQUIRE(sent.sin6_scope_id == ll.address.sin6_scope_id);
  REQUIRE(sent.sin6_scope_id != 0);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.upstream_connections == clients);
  REQUIRE((e.accepted == clients && e.connected == clients && e.refused == 0 && e.resets == 0));
  REQUIRE((e.from_upstream == o.load.sent && e.to_client == o.load.sent && o.load.echoed == o.load.sent));
}

TEST_CASE("proxy: a ring that runs dry under many clients: re-armed, nothing lost", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = proxy_test::scaled(150, 32);
  // 4 buffers of 256 bytes for both directions of all of them: multishot recvs end -ENOBUFS
  const server_config cfg{.table = 2 * clients, .nbufs = 4, .buf_size = 256, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 2000, .seed = 2000};
  CAPTURE(clients, spec.seed);
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec));
  proxy_test::require_clean(o, cfg);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.echoed == o.load.sent);
  REQUIRE((o.end.from_client == o.load.sent && o.end.to_client == o.load.sent && o.end.dropped == 0));
  INFO("enobufs " << o.end.enobufs << ", rearms " << o.end.rearms);
  REQUIRE(o.end.enobufs > 0);
  REQUIRE(o.end.rearms > 0);
}

TEST_CASE("proxy: a client that half-closes still gets every byte back, then the FIN", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = proxy_test::scaled(100, 32);
  const server_config cfg{.table = 2 * clients, .nbufs = 32, .buf_size = 4096, .expect = clients};
  // each client sends all of it, shutdown(SHUT_WR), and reads until EOF
  const load_spec spec{.clients = clients, .how = kind::half_close, .request_bytes = 40000, .seed = 5000};
  CAPTURE(clients, spec.seed);
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec));
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.sent == iouloop::u64(clients) * spec.request_bytes);
  REQUIRE(o.load.echoed == o.load.sent);
  REQUIRE((e.client_eofs == clients && e.upstream_eofs == clients && e.shutdowns == 2 * clients));
  REQUIRE((e.resets == 0 && e.dropped == 0 && e.to_client == o.load.sent));
}

TEST_CASE("proxy: clients that reset mid-stream: both sides closed, every byte relayed or counted dropped", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 resets = proxy_test::scaled(60, 16), after = proxy_test::scaled(60, 16);
  // a table just big enough for either wave: the second needs the slots the resets held
  const server_config cfg{.table = 2 * 64, .nbufs = 64, .buf_size = 1024, .expect = resets + after};
  // half a request, its echo, a few bytes more, then an RST (SO_LINGER 0)
  const load_spec first{.clients = resets, .how = kind::reset, .request_bytes = 5000, .seed = 3000};
  const load_spec second{.clients = after, .how = kind::echo, .requests = 4, .request_bytes = 3000, .seed = 4000};
  CAPTURE(resets, after, first.seed, second.seed);
  echo2_host::load_result first_result;
  auto o = proxy_test::serve<Runner>(cfg, [&](uint16_t port, const proxy::params& p) {
    load_spec a = first, b = second;
    a.port = b.port = port;
    first_result = echo2_host::run_load(a);
    // the second wave once the proxy closed the first (else the table could be full)
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (iouloop_test::watch(p.clients_closed) < resets && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return echo2_host::run_load(b);
  });
  INFO("reset wave: " << first_result.done << " done, first failure: " << first_result.first_error);
  REQUIRE(first_result.ok());
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  INFO("dropped " << e.dropped);
  REQUIRE(o.load.done == after);
  REQUIRE((e.accepted == resets + after && e.connected == resets + after && e.table_full == 0));
  REQUIRE(e.resets == resets);
  // what the clients sent reached the proxy, except what their RST discarded
  REQUIRE(e.from_client <= first_result.sent + o.load.sent);
  REQUIRE(e.from_client >= first_result.echoed + o.load.sent);
  REQUIRE(e.to_client >= first_result.echoed + o.load.echoed);
  // every byte the proxy received was sent on or counted dropped (require_clean)
  REQUIRE(e.from_client + e.from_upstream == e.to_upstream + e.to_client + e.dropped);
}

TEST_CASE("proxy: an upstream that refuses: each client is closed and counted", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = proxy_test::scaled(40, 16);
  const server_config cfg{.table = 2 * clients, .nbufs = 16, .buf_size = 1024, .expect = clients};
  // each client sends its first request and waits for its echo (a client
  // that had sent everything would half-close, and shutdown() on a
  // connection the proxy already closed fails ENOTCONN: not a refusal)
  const load_spec spec{
      .clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 500, .seed = 6000, .may_refuse = true};
  CAPTURE(clients, spec.seed);
  proxy_test::options opt;
  opt.refuse = true;
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec), opt);
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  INFO("clients refused " << o.load.refused);
  REQUIRE(o.load.refused == clients);
  REQUIRE((e.accepted == clients && e.refused == clients && e.connected == 0 && e.resets == 0));
  // no client's recv is armed before its upstream is connected: nothing to drop
  REQUIRE((e.from_client == 0 && e.to_upstream == 0 && e.dropped == 0));
}

TEST_CASE("proxy: SIGINT, then a graceful stop: what the proxy holds is delivered, the upstream answers, then EOF",
          "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = proxy_test::scaled(32, 12);
  const iouloop::u32 bytes = 64 << 10;
  // Clients send everything and read nothing until the first run ended, so
  // the proxy holds the upstream's answers it could not send yet (small
  // socket buffers on the client side: about 16 KiB of each 64 KiB fit
  // there) when SIGINT comes.
  const server_config cfg{.table = 2 * 64, .nbufs = 256, .buf_size = 16384, .expect = 0};
  std::atomic<bool> gate{false};
  const load_spec spec{
      .clients = clients, .how = kind::gated, .request_bytes = bytes, .seed = 7000, .rcvbuf = 4096, .read_gate = &gate};
  const iouloop::u64 total = iouloop::u64(clients) * bytes;
  CAPTURE(clients, spec.seed);
  proxy_test::options opt;
  opt.sndbuf = 4096;
  // once everything went up and came back to the proxy: the upstream's
  // thread may answer late, and only then does the proxy hold bytes
  opt.interrupt_when = [&](const proxy::params& p) {
    return iouloop_test::watch(p.from_client) == total && iouloop_test::watch(p.from_upstream) == total;
  };
  opt.on_interrupt = [&] { gate = true; };
  auto o = proxy_test::serve<Runner>(cfg, proxy_test::clients(spec), opt);
  REQUIRE(o.runs == 2);
  proxy_test::require_clean(o, cfg);
  const proxy::params& e = o.end;
  const proxy::params& i = o.at_interrupt;
  INFO("bytes held (received, not yet sent) when SIGINT ended the first run: "
       << o.held_at_interrupt << " (from " << i.from_client << " / " << i.from_upstream << ", to " << i.to_upstream
       << " / " << i.to_client << ", dropped " << i.dropped << ", connected " << i.connected << ", in ring "
       << i.in_ring << ", enobufs " << i.enobufs << ")");
  REQUIRE(o.held_at_interrupt > 0);
  REQUIRE(e.stopping == 1);
  REQUIRE((e.from_client == total && e.to_upstream == total));
  REQUIRE((e.from_upstream == total && e.to_client == total && e.dropped == 0));
  REQUIRE((e.client_eofs == 0 && e.upstream_eofs == clients && e.shutdowns == 2 * clients));
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.echoed == total);
}

TEST_CASE("proxy: clients that send and never read hold a few buffers each way; the others are served", "[proxy]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 hog_count = 3, clients = proxy_test::scaled(100, 40);
  // 64 buffers, one direction of a pair may hold 4 (the default: buffers /
  // 16). Each hog's pair pauses both ways: the upstream's echoes fill the
  // hog's small receive buffer (upstream -> client), then the upstream
  // stops reading (client -> upstream). The rest of the ring serves
  // everybody else.
  const server_config cfg{
      .table = 2 * (hog_count + clients), .nbufs = 64, .buf_size = 2048, .expect = hog_count + clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 8000};
  CAPTURE(hog_count, clients, spec.seed);
  auto h = proxy_test::with_hogs<Runner>(cfg, hog_count, spec, 20);
  const proxy::params& e = h.o.end;
  INFO("the hogs sent " << h.hog_bytes << " bytes in " << h.push_s << " s; pauses " << e.client_pauses << " (clients) "
                        << e.upstream_pauses << " (upstreams), ring ran dry " << e.enobufs
                        << " times; the load: " << h.o.load.done << " done, " << h.o.load.failed << " failed"
                        << (h.o.load.timed_out ? " (timed out)" : "") << "; first failure: " << h.o.load.first_error);
  // first what the cap is for: every ordinary client served, every byte back
  REQUIRE(h.o.load.ok());
  REQUIRE(h.o.load.done == clients);
  REQUIRE(h.o.load.echoed == h.o.load.sent);
  REQUIRE(h.paused_in_time);
  proxy_test::require_clean(h.o, cfg);
  REQUIRE((e.accepted == hog_count + clients && e.connected == hog_count + clients && e.refused == 0));
  REQUIRE((e.client_pauses >= hog_count && e.upstream_pauses >= hog_count));
  REQUIRE(e.resets == hog_count);
  // what the proxy read of the hogs was relayed or dropped (require_clean:
  // received == sent + dropped); what their RST found unread the kernel discarded
  REQUIRE(e.from_client >= h.o.load.sent);
  REQUIRE(e.from_client <= h.o.load.sent + h.hog_bytes);
  REQUIRE(e.dropped > 0);
}

// Run by hand (hidden: `proxy_test "[proxy-nocap]"`, or proxy_bpf_test_static
// in the VM): the case above with the cap at 255, more than the ring holds.
// The hogs' pairs take every buffer and the ordinary clients starve: this is
// what the case above guards against.
TEST_CASE("proxy: with the cap at 255 the clients that never read starve the others", "[.proxy-nocap]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 hog_count = 3, clients = proxy_test::scaled(100, 40);
  const server_config cfg{.table = 2 * (hog_count + clients),
                          .nbufs = 64,
                          .buf_size = 2048,
                          .expect = hog_count + clients,
                          .slot_cap = 255};
  const load_spec spec{
      .clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 8000, .limit_s = 10};
  CAPTURE(hog_count, clients, spec.seed);
  // nothing pauses: the hogs push for 5 s, time enough to fill the ring
  auto h = proxy_test::with_hogs<Runner>(cfg, hog_count, spec, 5);
  const proxy::params& e = h.o.end;
  INFO("the hogs sent " << h.hog_bytes << " bytes; the load: " << h.o.load.done << " done, " << h.o.load.failed
                        << " failed" << (h.o.load.timed_out ? " (timed out)" : "")
                        << "; first failure: " << h.o.load.first_error << "; ring ran dry " << e.enobufs << " times");
  REQUIRE(!h.paused_in_time);
  REQUIRE((e.client_pauses == 0 && e.upstream_pauses == 0));
  REQUIRE(!h.o.load.ok());
  REQUIRE(h.o.load.done < clients);
}
