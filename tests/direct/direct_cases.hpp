// Host side of the direct-descriptor cases (tests/direct/direct_table.hpp):
// a listening AF_UNIX socket, the fixed file table, verifying clients, one
// run on a runner's engine.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "iouloop/iouloop.hpp"
#include "tests/direct/direct_policy.hpp"

namespace direct_test {

using iouloop::u32;
using iouloop::u64;

inline unsigned char byte_at(u64 client, u64 i) { return static_cast<unsigned char>((i % 241) + client * 7); }

// An abstract AF_UNIX address of this process's own.
inline sockaddr_un address(socklen_t& len) {
  static std::atomic<int> n{0};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string name = "iouloop-direct-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  std::memcpy(a.sun_path + 1, name.data(), name.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

// Connects, sends `bytes` in `chunk`s, reads the echo back, checks it,
// closes. Returns the bytes that came back right.
inline u64 client(const sockaddr_un& a, socklen_t len, u64 id, u64 bytes, u32 chunk) {
  iouloop::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0) return 0;
  std::vector<unsigned char> out(chunk), in(chunk);
  u64 good = 0;
  for (u64 off = 0; off < bytes;) {
    const u64 n = std::min<u64>(chunk, bytes - off);
    for (u64 i = 0; i < n; ++i) out[i] = byte_at(id, off + i);
    if (::write(fd.get(), out.data(), n) != ssize_t(n)) return good;
    for (u64 got = 0; got < n;) {  // the echo of this chunk
      const ssize_t r = ::read(fd.get(), in.data(), n - got);
      if (r <= 0) return good;
      for (ssize_t i = 0; i < r; ++i)
        if (in[i] == byte_at(id, off + got + u64(i))) good++;
      got += u64(r);
    }
    off += n;
  }
  ::shutdown(fd.get(), SHUT_WR);
  char c;
  (void)::read(fd.get(), &c, 1);  // the server's close
  return good;
}

struct outcome {
  int ret = 0;
  direct::params end{};
  std::vector<u64> good;
};

// `waves` rounds of `clients` concurrent clients, each sending `bytes`.
template <class Runner>
outcome run(u32 clients, u32 waves, u64 bytes, u32 chunk) {
  socklen_t len = 0;
  const sockaddr_un a = address(len);
  iouloop::unique_fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener);
  REQUIRE(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&a), len) == 0);
  REQUIRE(::listen(listener.get(), 64) == 0);

  iouloop::mapping buffers = iouloop::mapping::anonymous(direct::slots * direct::buf_bytes, "the echo buffers");
  typename Runner::template session<direct::policy> s;
  iouloop::fixed_file_table files(s.ring(), direct::slots);
  direct::params& p = s.params();
  p.listener = listener.get();
  p.expect = clients * waves;
  p.buffers = buffers.user_addr();

  outcome o;
  o.good.assign(clients * waves, 0);
  std::atomic<bool> load_done{false};
  std::thread load([&] {
    for (u32 w = 0; w < waves; ++w) {
      std::vector<std::thread> t;
      for (u32 c = 0; c < clients; ++c) {
        const u32 id = w * clients + c;
        t.emplace_back([&, id] { o.good[id] = client(a, len, id, bytes, chunk); });
      }
      for (auto& x : t) x.join();
    }
    load_done.store(true, std::memory_order_release);
  });
  o.ret = s.run();
  if (o.ret != 0) ::shutdown(listener.get(), SHUT_RDWR);
  // The clients wait for the server's close: keep the ring's deferred work
  // running until they are done (settle_until says why).
  const int settled = s.settle_until([&] { return load_done.load(std::memory_order_acquire); });
  load.join();
  CHECK(settled == 0);
  o.end = p;
  return o;
}

}  // namespace direct_test
