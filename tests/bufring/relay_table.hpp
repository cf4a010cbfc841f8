// The relay cases, once per test binary after `#define IOULOOP_RUNNER`
// (tests/support/runners.hpp), so both engines run the very same cases.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including tests/bufring/relay_table.hpp"
#endif

#include <catch2/generators/catch_generators.hpp>

#include "tests/bufring/relay_cases.hpp"

TEST_CASE("buf_ring: a multishot recv's buffers come back through the step, every byte in order", "[bufring]") {
  using Runner = IOULOOP_RUNNER;
  auto [nbufs, buf_size, total, chunk] = GENERATE(table<iouloop::u32, iouloop::u32, iouloop::u64, iouloop::u32>({
      {16, 4096, 1 << 20, 65536}, /* plenty of buffers */
      {16, 100, 100000, 333},     /* buffer size no power of two */
      {4, 64, 64 << 10, 1000},
      {1, 1, 3000, 7}, /* one 1-byte buffer: a recv, a send and a refill per byte */
  }));
  relay_test::config cfg{nbufs, buf_size, total, chunk, false};
  CAPTURE(nbufs, buf_size, total, chunk);
  auto o = relay_test::run<Runner>(cfg);
  relay_test::require_every_byte(cfg, o);
  REQUIRE(o.end.max_bundle == 1);
}

TEST_CASE("buf_ring: a ring that runs dry slows the recv and loses nothing", "[bufring]") {
  using Runner = IOULOOP_RUNNER;
  // 2 buffers of 64 bytes against 256 KiB written at once: the multishot
  // recv empties the ring, ends with -ENOBUFS, and is armed again.
  relay_test::config cfg{2, 64, 256 << 10, 65536, false};
  auto o = relay_test::run<Runner>(cfg);
  relay_test::require_every_byte(cfg, o);
  INFO("enobufs " << o.end.enobufs << ", rearms " << o.end.rearms);
  REQUIRE(o.end.enobufs > 0);
  REQUIRE(o.end.rearms >= o.end.enobufs);
}

TEST_CASE("buf_ring: short sends into a small send buffer keep the buffer until it is all sent", "[bufring]") {
  using Runner = IOULOOP_RUNNER;
  relay_test::config cfg{8, 65536, 2 << 20, 65536, false, 4096};
  auto o = relay_test::run<Runner>(cfg);
  relay_test::require_every_byte(cfg, o);
}

TEST_CASE("buf_ring: multishot recv bundles take several buffers per CQE, found in ring order", "[bufring]") {
  using Runner = IOULOOP_RUNNER;
  {
    iouloop::ring probe;
    if (!probe.supports_bundles()) SKIP("this kernel lacks IORING_FEAT_RECVSEND_BUNDLE (Linux 6.10+)");
  }
  auto [nbufs, buf_size, total] = GENERATE(table<iouloop::u32, iouloop::u32, iouloop::u64>({
      {8, 64, 256 << 10},
      {16, 512, 1 << 20},
      {3, 100, 50000},
  }));
  const bool tcp = GENERATE(false, true);
  relay_test::config cfg{nbufs, buf_size, total, 65536, true};
  cfg.tcp = tcp;
  CAPTURE(nbufs, buf_size, total, tcp);
  auto o = relay_test::run<Runner>(cfg);
  relay_test::require_every_byte(cfg, o);
  INFO("the largest bundle took " << o.end.max_bundle << " buffers");
  // io_recv_buf_select (io_uring/net.c) sizes a bundle from the msg_inq the
  // socket reported on the previous receive; TCP reports it (tcp_recvmsg),
  // an AF_UNIX stream only from Linux 6.17 (SO_INQ). Without it the kernel
  // maps one buffer per CQE: Debian 13's 6.12 does exactly that.
  if (!tcp && !relay_test::unix_stream_reports_inq()) {
    INFO("this kernel's AF_UNIX stream sockets do not report msg_inq (SO_INQ, Linux 6.17+)");
    REQUIRE(o.end.max_bundle == 1);
  } else {
    REQUIRE(o.end.max_bundle > 1);
  }
}
