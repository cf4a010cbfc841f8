// Host side of the relay cases (tests/bufring/relay_table.hpp): socket
// pairs, a writer and a verifying reader thread, the buffer pool, the
// group's registration, and one run on a runner's engine.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch_test_macros.hpp>
#include <thread>

#include "examples/echo/echo_host.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/bufring/relay_policy.hpp"

namespace relay_test {

using iouloop::u32;
using iouloop::u64;

// Byte i of the stream: a pattern whose period (251, a prime) is no
// buffer size, so a buffer delivered twice, late or out of order shows.
inline unsigned char byte_at(u64 i) { return static_cast<unsigned char>((i % 251) ^ (i >> 12)); }

struct config {
  u32 nbufs, buf_size;
  u64 total;         // bytes the writer sends
  u32 chunk;         // bytes per write()
  bool bundle;       // multishot recv bundles
  int sndbuf = 0;    // SO_SNDBUF of the step's output socket (0: default)
  bool tcp = false;  // the step's input over TCP loopback (else an AF_UNIX stream pair)
};

struct outcome {
  int ret = 0;
  relay::params end{};
  u64 read = 0;           // bytes the reader got
  u64 first_bad = ~0ull;  // the first byte that differed, if any
};

inline void socket_pair(int sv[2]) { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0); }

// A connected TCP pair over 127.0.0.1: sv[0] the connecting end, sv[1] the
// accepted one (the echo example's listener on a free port, closed once
// accepted). In the test VM lo starts down; ensure_loopback brings it up.
inline void tcp_pair(int sv[2]) {
  echo_host::ensure_loopback();
  echo_host::listener lis(0, 0, 1);
  // A plain connect: echo_host::connect_loopback's send timeout makes a
  // connect interrupted by a signal fail with EINTR (seen in the VM).
  iouloop::unique_fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(c);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(lis.port());
  REQUIRE(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const int server = ::accept4(lis.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(server >= 0);
  sv[0] = c.release();
  sv[1] = server;
}

// Whether an AF_UNIX stream socket reports the bytes still queued after a
// read (msg_inq; SO_INQ for AF_UNIX, Linux 6.17). A multishot recv bundle
// sizes itself from that figure (io_uring/net.c, io_recv_buf_select: with
// no msg_inq > 1 from the previous receive, the peek maps one buffer), so
// without it every bundle on such a socket takes one buffer.
inline bool unix_stream_reports_inq() {
  constexpr int so_inq = 84;  // SO_INQ, include/uapi/asm-generic/socket.h
  int sv[2];
  socket_pair(sv);
  iouloop::unique_fd a(sv[0]), b(sv[1]);
  const int one = 1;
  return ::setsockopt(a.get(), SOL_SOCKET, so_inq, &one, sizeof one) == 0;
}

template <class Runner>
outcome run(const config& cfg) {
  int in[2], out[2];
  if (cfg.tcp)
    tcp_pair(in);
  else
    socket_pair(in);
  socket_pair(out);
  iouloop::unique_fd in_w(in[0]), in_r(in[1]), out_w(out[0]), out_r(out[1]);
  if (cfg.sndbuf) REQUIRE(::setsockopt(out_w.get(), SOL_SOCKET, SO_SNDBUF, &cfg.sndbuf, sizeof cfg.sndbuf) == 0);

  iouloop::mapping pool = iouloop::mapping::anonymous(u64(cfg.nbufs) * cfg.buf_size, "the relay's buffers");
  typename Runner::template session<relay::policy> s;
  relay::params& p = s.params();
  p.group = iouloop::buf_group{7};
  p.bundle = cfg.bundle ? 1 : 0;
  p.fd_in = in_r.get();
  p.fd_out = out_w.get();
  p.buffers = pool.user_addr();
  p.buf_size = cfg.buf_size;
  p.nbufs = cfg.nbufs;
  // The host fills the ring with the step's own code (buf_ring::push_nth).
  for (u32 i = 0; i < cfg.nbufs; ++i) p.ring.push_nth(p.buffers, cfg.buf_size, static_cast<iouloop::u16>(i));
  p.in_ring = cfg.nbufs;
  iouloop::buf_ring_registration group(s.ring(), p.ring, p.group);

  outcome o;
  std::thread writer([&] {
    std::vector<unsigned char> b(cfg.chunk);
    for (u64 off = 0; off < cfg.total;) {
      const u64 n = std::min<u64>(cfg.chunk, cfg.total - off);
      for (u64 i = 0; i < n; ++i) b[i] = byte_at(off + i);
      const ssize_t w = ::write(in_w.get(), b.data(), n);
      if (w <= 0) break;
      off += u64(w);
    }
    ::shutdown(in_w.get(), SHUT_WR);
  });
  std::thread reader([&] {
    std::vector<unsigned char> b(65536);
    for (;;) {
      const ssize_t r = ::read(out_r.get(), b.data(), b.size());
      if (r <= 0) break;
      for (ssize_t i = 0; i < r; ++i)
        if (b[i] != byte_at(o.read + u64(i)) && o.first_bad == ~0ull) o.first_bad = o.read + u64(i);
      o.read += u64(r);
    }
  });
  o.ret = s.run();
  ::shutdown(out_w.get(), SHUT_WR);                   // the reader sees the end of the stream
  if (o.ret != 0) ::shutdown(in_r.get(), SHUT_RDWR);  // a failed run: unblock the writer
  writer.join();
  reader.join();
  o.end = p;
  return o;
}

inline void require_every_byte(const config& cfg, const outcome& o) {
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.received == cfg.total);
  REQUIRE(o.end.sent == cfg.total);
  REQUIRE(o.read == cfg.total);
  REQUIRE(o.first_bad == ~0ull);
  REQUIRE(o.end.eof == 1);
  REQUIRE(o.end.in_ring == cfg.nbufs);  // every buffer back in the ring
  REQUIRE(o.end.q_head == o.end.q_tail);
}

}  // namespace relay_test
