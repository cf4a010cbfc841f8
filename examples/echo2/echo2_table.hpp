// The echo2 cases, once per test binary after `#define IOULOOP_RUNNER`
// (tests/support/runners.hpp: userspace_runner, or bpf_runner with an
// IOULOOP_PROGRAM_FOR declaration), so both engines run the very same cases.
// Each has a time limit (the client load's and the server's watchdog); the
// client bytes come from byte_stream(seed + client), the seed is printed.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including examples/echo2/echo2_table.hpp"
#endif
#if defined(IOULOOP_TABLE_EXAMPLES_ECHO2_ECHO2_TABLE_HPP)
#error "examples/echo2/echo2_table.hpp defines test cases: include it once per test binary"
#endif
#define IOULOOP_TABLE_EXAMPLES_ECHO2_ECHO2_TABLE_HPP

#include "examples/echo2/echo2_cases.hpp"

using echo2_host::kind;
using echo2_host::load_spec;
using echo2_host::server_config;

TEST_CASE("echo2: many connections at once share one buffer ring, every byte comes back", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = echo2_test::scaled(1200, 256);
  const server_config cfg{.table = echo2::max_slots, .nbufs = 256, .buf_size = 2048, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 1000};
  CAPTURE(clients, spec.seed);
  auto o = echo2_test::serve<Runner>(cfg, echo2_test::load_of(spec));
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.end.accepted == clients);
  REQUIRE(o.end.resets == 0);
  REQUIRE(o.end.eofs == clients);
  REQUIRE(o.end.received == o.load.sent);
  REQUIRE(o.load.echoed == o.load.sent);
  // the host bounds the first multishot recvs where the kernel can (io_recvmsg_prep, sqe->optlen)
  REQUIRE(o.end.recv_limit == (iouloop::kernel_has_recv_total_limit() ? 1u : 0u));
}

// A kernel before 6.17 refuses a multishot recv with a total limit (-EINVAL:
// io_recvmsg_prep read the field as file_index): the host then arms them
// without one. The same policy, with the limit off, on any kernel.
TEST_CASE("echo2: without the recv total limit (as on kernels before 6.17): every byte comes back", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = echo2_test::scaled(300, 100);
  const server_config cfg{
      .table = 512, .nbufs = 32, .buf_size = 1024, .expect = clients, .slot_cap = 4, .recv_limit = false};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 6000, .seed = 1100};
  CAPTURE(clients, spec.seed);
  auto o = echo2_test::serve<Runner>(cfg, echo2_test::load_of(spec));
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.end.recv_limit == 0);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.end.resets == 0);
  REQUIRE(o.end.received == o.load.sent);
  REQUIRE(o.load.echoed == o.load.sent);
}

TEST_CASE("echo2: a ring that runs dry under many connections: re-armed, nothing lost", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = echo2_test::scaled(400, 150);
  // 4 buffers of 256 bytes for all of them: multishot recvs end -ENOBUFS
  const server_config cfg{.table = 512, .nbufs = 4, .buf_size = 256, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 2000, .seed = 2000};
  CAPTURE(clients, spec.seed);
  auto o = echo2_test::serve<Runner>(cfg, echo2_test::load_of(spec));
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.echoed == o.load.sent);
  REQUIRE(o.end.received == o.load.sent);
  INFO("enobufs " << o.end.enobufs << ", rearms " << o.end.rearms);
  REQUIRE(o.end.enobufs > 0);
  REQUIRE(o.end.rearms > 0);
}

TEST_CASE("echo2: clients that reset mid-request are counted, their slots closed and used again", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 resets = echo2_test::scaled(60, 30), after = echo2_test::scaled(60, 30);
  // a table just big enough for either wave: the second needs the slots the resets held
  const server_config cfg{.table = 64, .nbufs = 64, .buf_size = 1024, .expect = resets + after};
  const load_spec first{.clients = resets, .how = kind::reset, .request_bytes = 5000, .seed = 3000};
  const load_spec second{.clients = after, .how = kind::echo, .requests = 4, .request_bytes = 3000, .seed = 4000};
  CAPTURE(resets, after, first.seed, second.seed);
  echo2_host::load_result first_result;
  auto o = echo2_test::serve<Runner>(cfg, [&](uint16_t port, const echo2::params& p) {
    // the second wave once the server closed the first (else its connects
    // could find the table full)
    return echo2_test::two_waves(port, p, first, second, first_result, resets);
  });
  INFO("reset wave: " << first_result.done << " done, first failure: " << first_result.first_error);
  REQUIRE(first_result.ok());
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.load.done == after);
  REQUIRE(o.end.accepted == resets + after);
  REQUIRE(o.end.table_full == 0);
  REQUIRE(o.end.resets == resets);
  REQUIRE(o.end.eofs == after);
  REQUIRE(o.end.received == o.end.sent + o.end.dropped);
}

TEST_CASE("echo2: half-closed clients get everything back, then the close", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = echo2_test::scaled(200, 60);
  const server_config cfg{.table = 256, .nbufs = 32, .buf_size = 4096, .expect = clients};
  const load_spec spec{.clients = clients, .how = kind::half_close, .request_bytes = 40000, .seed = 5000};
  CAPTURE(clients, spec.seed);
  auto o = echo2_test::serve<Runner>(cfg, echo2_test::load_of(spec));
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.sent == iouloop::u64(clients) * spec.request_bytes);
  REQUIRE(o.load.echoed == o.load.sent);
  REQUIRE(o.end.eofs == clients);
  REQUIRE(o.end.resets == 0);
}

TEST_CASE("echo2: a full fixed file table: the connection the kernel drops is counted, the accept waits for a close",
          "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = echo2_test::scaled(100, 40);
  // 8 slots for all of them: a multishot direct accept that finds no slot
  // ends -ENFILE, and the kernel closes the connection it accepted
  const server_config cfg{.table = 8, .nbufs = 64, .buf_size = 1024, .expect = clients};
  const load_spec spec{
      .clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 2000, .seed = 6000, .may_refuse = true};
  CAPTURE(clients, spec.seed);
  auto o = echo2_test::serve<Runner>(cfg, echo2_test::load_of(spec));
  echo2_test::require_clean(o, cfg);
  INFO("accepts that found the table full (-ENFILE): " << o.end.table_full << ", clients refused " << o.load.refused);
  REQUIRE(o.end.table_full > 0);
  REQUIRE(o.load.refused == o.end.table_full);
  REQUIRE(o.load.done + o.load.refused == clients);
  REQUIRE(o.end.accepted == o.load.done);
  REQUIRE(o.load.echoed == o.end.sent);
}

TEST_CASE("echo2: SIGINT, then a graceful stop: no byte received is lost", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 clients = echo2_test::scaled(32, 16);
  const iouloop::u32 bytes = 64 << 10;
  // Clients send everything and read nothing until the first run ended, so
  // the server holds received bytes it could not send yet (small socket
  // buffers on both sides) when SIGINT comes.
  const server_config cfg{.table = 64, .nbufs = 256, .buf_size = 16384, .expect = 0};
  std::atomic<bool> gate{false};
  const load_spec spec{
      .clients = clients, .how = kind::gated, .request_bytes = bytes, .seed = 7000, .rcvbuf = 4096, .read_gate = &gate};
  const iouloop::u64 total = iouloop::u64(clients) * bytes;
  CAPTURE(clients, spec.seed);
  echo2_test::options opt;
  opt.sndbuf = 4096;
  opt.interrupt_when = [&](const echo2::params& p) { return iouloop_test::watch(p.received) == total; };
  opt.on_interrupt = [&] { gate = true; };
  auto o = echo2_test::serve<Runner>(
      cfg,
      [&](uint16_t port, const echo2::params& p) {
        load_spec s = spec;
        s.port = port;
        return echo2_host::run_load(s);
      },
      opt);
  REQUIRE(o.runs == 2);
  echo2_test::require_clean(o, cfg);
  INFO("bytes held (received, not yet sent) when SIGINT ended the first run: " << o.held_at_interrupt);
  REQUIRE(o.held_at_interrupt > 0);
  REQUIRE(o.end.stopping == 1);
  REQUIRE(o.end.received == total);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.echoed == total);
}

TEST_CASE(
    "echo2: one loop per thread on one port (SO_REUSEPORT): each serves, every byte comes back, the stop reaches every "
    "loop",
    "[echo2][threads]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 threads = 2, clients = echo2_test::scaled(400, 120);
  const server_config cfg{.table = 512, .nbufs = 128, .buf_size = 2048, .expect = 0};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 8000};
  CAPTURE(threads, clients, spec.seed);
  auto o = echo2_test::serve_crew<Runner>(cfg, threads, [&](uint16_t port) {
    load_spec s = spec;
    s.port = port;
    return echo2_host::run_load(s);
  });
  INFO("load: " << o.load.done << " done, " << o.load.failed << " failed; first failure: " << o.load.first_error);
  REQUIRE(o.load.ok());
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.echoed == o.load.sent);
  REQUIRE(o.stopped_in_time);
  iouloop::u64 accepted = 0, received = 0;
  for (const auto& l : o.loops) {
    INFO("loop: run() = " << l.ret << " after " << l.runs << " runs: " << l.exit_text << " " << l.error);
    REQUIRE(l.error.empty());
    REQUIRE(l.ret == 0);
    REQUIRE(l.runs >= 2); /* -EINTR from its own thread's signal, then the graceful stop */
    REQUIRE(l.end.stopping == 1);
    REQUIRE(l.end.accepted > 0); /* SO_REUSEPORT spread the connections: 2^-119 that it did not */
    REQUIRE(l.end.resets == 0);
    echo2_test::require_clean_end(l.end, cfg);
    accepted += l.end.accepted;
    received += l.end.received;
  }
  REQUIRE(accepted == clients);
  REQUIRE(received == o.load.sent);
}

TEST_CASE("echo2: a connection flood far beyond the table: the excess is turned away, the next wave is served in full",
          "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 flood = echo2_test::scaled(600, 150), wave = 12;
  // 16 slots against the flood, all connecting at once: the accepts that
  // find no slot end -ENFILE and the kernel drops those connections; then a
  // wave that fits (12 clients on the 16 slots, once the flood's are
  // closed) must be served whole: no slot, buffer or accept lost
  const server_config cfg{.table = 16, .nbufs = 32, .buf_size = 1024, .expect = flood + wave};
  const load_spec first{
      .clients = flood, .how = kind::echo, .requests = 2, .request_bytes = 1500, .seed = 9000, .may_refuse = true};
  const load_spec second{.clients = wave, .how = kind::echo, .requests = 3, .request_bytes = 2000, .seed = 9500};
  CAPTURE(flood, wave, first.seed, second.seed);
  echo2_host::load_result flood_result;
  auto o = echo2_test::serve<Runner>(cfg, [&](uint16_t port, const echo2::params& p) {
    return echo2_test::two_waves(port, p, first, second, flood_result, flood);
  });
  INFO("flood: " << flood_result.done << " served, " << flood_result.refused << " turned away, " << flood_result.failed
                 << " failed; first failure: " << flood_result.first_error);
  REQUIRE(flood_result.ok());
  REQUIRE(flood_result.done + flood_result.refused == flood);
  REQUIRE(flood_result.refused > 0);
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.load.done == wave);
  REQUIRE(o.end.table_full == flood_result.refused);
  REQUIRE(o.end.accepted == flood_result.done + wave);
  REQUIRE(o.end.received == o.end.sent);
  REQUIRE(o.end.sent == flood_result.echoed + o.load.echoed);
}

TEST_CASE("echo2: clients that send and never read hold a few buffers each; the others are served", "[echo2]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 hog_count = 3, clients = echo2_test::scaled(100, 40);
  // 64 buffers, a connection may hold 4 (the default: buffers / 16): the
  // hogs' echoes fill their small receive buffers, their queues reach the
  // cap, their recvs pause; the rest of the ring serves everybody else
  const server_config cfg{.table = 256, .nbufs = 64, .buf_size = 2048, .expect = hog_count + clients};
  const load_spec spec{.clients = clients, .how = kind::echo, .requests = 3, .request_bytes = 3000, .seed = 9700};
  CAPTURE(hog_count, clients, spec.seed);
  bool paused_in_time = false;
  iouloop::u64 hog_bytes = 0;
  echo2_test::options opt;
  opt.sndbuf = 4096;
  auto o = echo2_test::serve<Runner>(
      cfg,
      [&](uint16_t port, const echo2::params& p) {
        echo2_test::hogs h(port, hog_count, 9600);
        paused_in_time =
            h.push_until([&] { return iouloop_test::watch(p.pauses) >= hog_count; }, std::chrono::seconds(20));
        load_spec s = spec;
        s.port = port;
        auto r = echo2_host::run_load(s);
        hog_bytes = h.sent();
        h.reset_all();
        return r;
      },
      opt);
  INFO("the hogs sent " << hog_bytes << " bytes; pauses " << o.end.pauses << ", ring ran dry " << o.end.enobufs
                        << " times");
  REQUIRE(paused_in_time);
  echo2_test::require_clean(o, cfg);
  REQUIRE(o.load.done == clients);
  REQUIRE(o.load.echoed == o.load.sent);
  REQUIRE(o.end.resets == hog_count);
  /* what the server read of the hogs was echoed or dropped (require_clean:
     received == sent + dropped); what their RST found unread the kernel discarded */
  REQUIRE(o.end.received >= o.load.sent);
  REQUIRE(o.end.received <= o.load.sent + hog_bytes);
  REQUIRE(o.end.dropped > 0);
}
