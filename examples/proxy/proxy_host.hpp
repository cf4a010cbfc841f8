// Host side of the proxy, shared by proxy_main.cc and the tests: the proxy's
// resources on a ring (buffer pool, fixed file table, the buffer group, the
// upstream address), and an echo upstream: a small epoll server on its own
// thread, written with plain sockets so that it checks the proxy rather than
// sharing its code. The clients are echo2's one-thread load
// (echo2_host::run_load), which checks every byte that comes back.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "examples/echo/echo_host.hpp"
#include "examples/proxy/proxy_policy.hpp"
#include "iouloop/engine/buf_ring.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/fixed_files.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/probe.hpp"

namespace proxy_host {

using iouloop::error;
using iouloop::u32;
using iouloop::u64;

struct server_config {
  u32 table = 512;         // fixed file table slots (two per client), 2 .. proxy::max_slots
  u32 nbufs = 128;         // buffers in the shared ring, 1 .. proxy::entries
  u32 buf_size = 4096;     // bytes per buffer, 1 .. 65536
  u32 expect = 0;          // stop once this many clients came and went (0: until stopped)
  u32 slot_cap = 0;        // buffers one direction may hold, 1 .. 255 (0: nbufs / 16, at least 2)
  bool recv_limit = true;  // bound each slot's first multishot recv where the kernel can (false: as before Linux 6.17)
  std::string upstream_host = "127.0.0.1";  // a numeric IPv4 or IPv6 address
  uint16_t upstream_port = 0;
};

// What is wrong with upstream_host, or "", with the address the connect passes
// in `out`: a numeric IPv4 address, or a numeric IPv6 address with an
// optional zone after '%', an interface name or index (fe80::1%eth0,
// fe80::1%2). A link-local IPv6 address needs its zone: without one the
// kernel cannot tell which link the address is on, and the connect fails.
inline std::string upstream_problem(const server_config& c, proxy::socket_address& out) {
  out = proxy::socket_address{};
  const std::string& h = c.upstream_host;
  const auto percent = h.find('%');
  const std::string addr = h.substr(0, percent), zone = percent == std::string::npos ? "" : h.substr(percent + 1);
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET, addr.c_str(), &v4.sin_addr) == 1) {
    if (percent != std::string::npos)
      return "the upstream host " + h + " is IPv4, which has no zone: drop the %" + zone;
    v4.sin_family = AF_INET;
    v4.sin_port = htons(c.upstream_port);
    std::memcpy(&out, &v4, sizeof v4);
    out.length = sizeof v4;
    return "";
  }
  if (::inet_pton(AF_INET6, addr.c_str(), &v6.sin6_addr) != 1)
    return "the upstream host " + h + " is not a numeric IPv4 or IPv6 address (127.0.0.1, ::1, fe80::1%eth0)";
  if (percent != std::string::npos) {
    if (zone.empty()) return "the upstream host " + h + " has nothing after %: name an interface (fe80::1%eth0)";
    // an index (at most 10 digits, so stoull cannot overflow), else a name
    const bool digits = zone.size() <= 10 && zone.find_first_not_of("0123456789") == std::string::npos;
    const unsigned long long index = digits ? std::stoull(zone) : 0;
    if (index != 0 && index <= 0xffffffffull)
      v6.sin6_scope_id = u32(index);
    else if ((v6.sin6_scope_id = ::if_nametoindex(zone.c_str())) == 0)
      return "the upstream host " + h + " names no interface of this machine: '" + zone +
             "' (ip link lists them, or give an index: fe80::1%2)";
  }
  if (IN6_IS_ADDR_LINKLOCAL(&v6.sin6_addr) && v6.sin6_scope_id == 0)
    return "the upstream host " + h + " is link-local: add its interface, as " + addr + "%eth0";
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(c.upstream_port);
  std::memcpy(&out, &v6, sizeof v6);
  out.length = sizeof v6;
  return "";
}

// The same, as true when upstream_host is an address.
inline bool upstream_address(const server_config& c, proxy::socket_address& out) {
  return upstream_problem(c, out).empty();
}
static_assert(sizeof(sockaddr_in6) <= __builtin_offsetof(proxy::socket_address, length) &&
                  __builtin_offsetof(proxy::socket_address, port_be) == __builtin_offsetof(sockaddr_in6, sin6_port),
              "proxy::socket_address holds a sockaddr_in6 before its length");

// Says what is wrong with `c`, or "".
inline std::string config_problem(const server_config& c) {
  if (c.table < 2 || c.table > proxy::max_slots)
    return "the fixed file table needs 2 .. " + std::to_string(proxy::max_slots) + " slots (two per client), not " +
           std::to_string(c.table);
  if (c.nbufs < 1 || c.nbufs > proxy::entries)
    return "the buffer ring holds 1 .. " + std::to_string(proxy::entries) + " buffers, not " + std::to_string(c.nbufs);
  if (c.buf_size < 1 || c.buf_size > 65536) return "a buffer is 1 .. 65536 bytes, not " + std::to_string(c.buf_size);
  if (std::string bad = echo_host::slot_cap_problem(c.slot_cap); !bad.empty()) return bad;
  if (c.upstream_port == 0) return "no upstream port";
  proxy::socket_address a;
  if (std::string bad = upstream_problem(c, a); !bad.empty()) return bad;
  return "";
}

// What the proxy needs on a ring besides the policy: the buffers, the fixed
// file table and the buffer group, registered from `params` (filled here:
// every buffer starts in the ring). Declare it after the ring and the param
// region; it goes first.
class server {
 public:
  server(const iouloop::ring& r, proxy::params& p, int listen_fd, const server_config& c)
      : pool_(iouloop::mapping::anonymous(u64(c.nbufs) * c.buf_size, "the proxy buffers")), files_(r, c.table) {
    if (const std::string bad = config_problem(c); !bad.empty()) throw error(EINVAL, bad);
    p = proxy::params{};
    p.group = iouloop::buf_group{1};
    p.listener = listen_fd;
    upstream_address(c, p.upstream);
    p.buffers = pool_.user_addr();
    p.buf_size = c.buf_size;
    p.nbufs = c.nbufs;
    p.expect = c.expect;
    p.slot_cap = echo_host::slot_cap_or_default(c.slot_cap, c.nbufs);
    p.recv_limit = c.recv_limit && iouloop::kernel_has_recv_total_limit() ? 1 : 0;
    for (u32 i = 0; i < c.nbufs; ++i) p.ring.push_nth(p.buffers, c.buf_size, static_cast<iouloop::u16>(i));
    p.in_ring = c.nbufs;
    group_.emplace(r, p.ring, p.group);
  }

 private:
  iouloop::mapping pool_;
  iouloop::fixed_file_table files_;
  std::optional<iouloop::buf_ring_registration> group_;
};

// ---- the echo upstream -------------------------------------------------------------

// An echo server on 127.0.0.1, or on ::1 with `ipv6` (any free port), on its own thread: each
// connection gets back what it sends; after its EOF and the last echoed
// byte it is shut down for writing and closed; a reset closes it. Level-
// triggered epoll, one buffer per connection: while echoed bytes wait to be
// sent it reads nothing more (backpressure). `sockbuf` > 0: each
// connection's SO_RCVBUF and SO_SNDBUF (no autotuning: its backpressure
// reaches the proxy after a few KiB). Stops when destroyed.
class echo_upstream {
 public:
  // On 127.0.0.1, or on the IPv6 address `at` (its port: 0 for any free one).
  explicit echo_upstream(int sockbuf = 0, const std::optional<sockaddr_in6>& at = {})
      : lis_(at ? echo_host::listener(*at, sockbuf, 4096) : echo_host::listener(0, sockbuf, 4096)),
        stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!stop_) throw error(errno, "eventfd failed");
    // set on the listener, inherited by each accepted socket (the send buffer: listener's)
    if (sockbuf > 0 && ::setsockopt(lis_.fd(), SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf) != 0)
      throw error(errno, "setsockopt(SO_RCVBUF) failed");
    ep_ = iouloop::unique_fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) throw error(errno, "epoll_create1 failed");
    // nonblocking: the accept loop below ends with EAGAIN
    if (::fcntl(lis_.fd(), F_SETFL, ::fcntl(lis_.fd(), F_GETFL) | O_NONBLOCK) != 0) throw error(errno, "fcntl failed");
    add(lis_.fd(), EPOLLIN);
    add(stop_.get(), EPOLLIN);
    thread_ = std::thread([this] { serve(); });
  }
  echo_upstream(const echo_upstream&) = delete;
  echo_upstream& operator=(const echo_upstream&) = delete;
  ~echo_upstream() {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
  uint16_t port() const { return lis_.port(); }
  u32 connections() const { return connections_.load(); }  // accepted so far
  u64 echoed() const { return echoed_.load(); }            // bytes sent back
  u32 resets() const { return resets_.load(); }            // connections that ended with an error

 private:
  struct conn {
    std::vector<uint8_t> buf = std::vector<uint8_t>(65536);
    size_t have = 0, sent = 0;  // buf[sent, have) waits to go back
    bool eof = false;
  };
  void add(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  void watch(int fd, const conn& c) {
    epoll_event ev{};
    ev.events = c.sent < c.have ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev);
  }
  void serve() {
    std::unordered_map<int, conn> conns;
    std::vector<epoll_event> evs(128);
    auto drop = [&](int fd, bool error) {
      if (error) resets_++;
      ::close(fd);  // also leaves the epoll set
      conns.erase(fd);
    };
    for (;;) {
      const int n = ::epoll_wait(ep_.get(), evs.data(), int(evs.size()), -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      for (int k = 0; k < n; ++k) {
        const int fd = evs[size_t(k)].data.fd;
        if (fd == stop_.get()) {
          for (auto& [cfd, c] : conns) ::close(cfd);
          return;
        }
        if (fd == lis_.fd()) {
          for (int a; (a = ::accept4(lis_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
            conns.emplace(a, conn{});
            connections_++;
            add(a, EPOLLIN | EPOLLRDHUP);
          }
          continue;
        }
        auto it = conns.find(fd);
        if (it == conns.end()) continue;
        conn& c = it->second;
        bool gone = false;
        while (!gone) {
          if (c.sent < c.have) {  // echo what waits
            const ssize_t w = ::send(fd, c.buf.data() + c.sent, c.have - c.sent, MSG_NOSIGNAL);
            if (w < 0 && errno == EAGAIN) break;
            if (w <= 0) {
              drop(fd, true), gone = true;
              break;
            }
            c.sent += size_t(w);
            echoed_ += u64(w);
            continue;
          }
          if (c.eof) {  // everything echoed after the peer's FIN: ours, then the close
            ::shutdown(fd, SHUT_WR);
            drop(fd, false), gone = true;
            break;
          }
          const ssize_t r = ::recv(fd, c.buf.data(), c.buf.size(), 0);
          if (r < 0 && errno == EAGAIN) break;
          if (r < 0) {
            drop(fd, true), gone = true;
            break;
          }
          if (r == 0) {
            c.eof = true;
            continue;
          }
          c.have = size_t(r);
          c.sent = 0;
        }
        if (!gone) watch(fd, c);
      }
    }
  }

  echo_host::listener lis_;
  iouloop::unique_fd stop_, ep_;
  std::atomic<u32> connections_{0}, resets_{0};
  std::atomic<u64> echoed_{0};
  std::thread thread_;
};

// A port on 127.0.0.1 where nothing listens (a socket bound to it, never
// listening, keeps it so while this lives): a connect there is refused.
class refusing_port {
 public:
  refusing_port() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (!fd_) throw error(errno, "socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw error(errno, "bind failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  uint16_t port() const { return port_; }

 private:
  iouloop::unique_fd fd_;
  uint16_t port_ = 0;
};

// "HOST:PORT" into `c`: an IPv4 HOST (127.0.0.1:7000) or an IPv6 one in
// brackets ([::1]:7000, [fe80::1%eth0]:7000), numeric. Returns what is wrong
// with `s`, or "" (and only then changes `c`).
inline std::string parse_upstream(const std::string& s, server_config& c) {
  const std::string form =
      "'" + s + "' is not IPV4:PORT or [IPV6]:PORT, numeric (127.0.0.1:7000, [::1]:7000, [fe80::1%eth0]:7000)";
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return form;
  std::string host = s.substr(0, colon);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  const std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return form;
  const unsigned long v = std::stoul(port);
  if (v == 0 || v > 65535) return "'" + s + "': the port is 1 .. 65535, not " + port;
  server_config t = c;
  t.upstream_host = host;
  t.upstream_port = uint16_t(v);
  proxy::socket_address a;
  if (std::string bad = upstream_problem(t, a); !bad.empty()) return "'" + s + "': " + bad;
  // an IPv6 address needs its brackets (else "::1:7000" would be ambiguous); an IPv4 one has none
  if (bracketed != (a.family == AF_INET6)) return form;
  c = t;
  return "";
}

}  // namespace proxy_host
