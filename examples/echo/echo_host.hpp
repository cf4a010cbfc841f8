// Host side of the echo example, shared by echo_main.cc and the tests: the
// loopback interface, the listening socket, the slot buffers, clients that
// check every echoed byte, and a watchdog that interrupts a run that hangs.
// Everything stays on 127.0.0.1, unless a listener is given another address
// (echo2 --address, for a load from outside the machine: bench/percore.sh).
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "examples/common/bytes.hpp"
#include "examples/echo/echo_policy.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/engine/settle.hpp"

namespace echo_host {

using iouloop::error;

// The test VM's /init configures no network, not even `lo`: there (and only
// there, IOULOOP_IN_VM is set) a down `lo` is brought up, which also gives it
// 127.0.0.1. Elsewhere a down `lo` is reported, not changed.
inline void ensure_loopback() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw error(errno, "socket(AF_INET) failed: this process cannot use IPv4 sockets");
  struct ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    int e = errno;
    ::close(s);
    throw error(e, "cannot read the flags of the loopback interface lo");
  }
  if (ifr.ifr_flags & IFF_UP) {
    ::close(s);
    return;
  }
  if (!std::getenv("IOULOOP_IN_VM")) {
    ::close(s);
    throw error(ENETDOWN, "the loopback interface lo is down: bring it up (ip link set lo up)");
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  int r = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  int e = errno;
  ::close(s);
  if (r != 0) throw error(e, "cannot bring the loopback interface lo up (SIOCSIFFLAGS needs CAP_NET_ADMIN)");
}

// The cap on buffers one connection (one direction, in the proxy) may hold
// from a shared buffer ring (echo2 and proxy --slot-cap): 1 .. 255, 0 for
// the default, `nbufs` / 16 within 2 .. 255. slot_cap_problem says what is
// wrong with a cap ("" when nothing).
inline std::string slot_cap_problem(uint32_t cap) {
  return cap > 255 ? "a connection may hold 1 .. 255 buffers (0: the default), not " + std::to_string(cap) : "";
}
inline uint32_t slot_cap_or_default(uint32_t cap, uint32_t nbufs) {
  return cap ? cap : std::clamp<uint32_t>(nbufs / 16, 2, 255);
}

// A TCP socket listening on 127.0.0.1:port (0: any free port), or on
// [::1]:port (listener::ipv6_loopback). `sndbuf`, when not 0, is the send
// buffer size its connections inherit (tests make it small to force short
// sends).
class listener {
 public:
  struct ipv6_loopback_t {};
  static constexpr ipv6_loopback_t ipv6_loopback{};

  // [::1]:port, IPv6 only. A machine without IPv6 (a kernel without it, or
  // lo without ::1) says so, with errno EAFNOSUPPORT or EADDRNOTAVAIL.
  listener(ipv6_loopback_t, uint16_t port = 0, int sndbuf = 0, int backlog = 1024)
      : listener(ipv6_address(in6addr_loopback, port), sndbuf, backlog) {}

  // An IPv6 address of this machine, IPv6 only: `at` holds the address, the
  // port (0: any free one) and, for a link-local address, its interface in
  // sin6_scope_id.
  explicit listener(const sockaddr_in6& at, int sndbuf = 0, int backlog = 1024) {
    fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw error(errno, "socket(AF_INET6, SOCK_STREAM) failed: this machine has no IPv6");
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (sndbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    sockaddr_in6 a = at;
    a.sin6_family = AF_INET6;
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    const std::string where = std::string(text) + (a.sin6_scope_id ? "%" + std::to_string(a.sin6_scope_id) : "");
    bind_and_listen(a, "[" + where + "]:" + std::to_string(ntohs(a.sin6_port)), backlog,
                    IN6_IS_ADDR_LOOPBACK(&a.sin6_addr) ? std::string("::1 is not configured: lo has no IPv6 address")
                                                       : where + " is no address of this machine (ip -6 addr)");
    port_ = ntohs(a.sin6_port);
  }

  // An IPv6 address and port, as the constructor above takes them.
  static sockaddr_in6 ipv6_address(const in6_addr& address, uint16_t port, uint32_t scope_id = 0) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = address;
    a.sin6_port = htons(port);
    a.sin6_scope_id = scope_id;
    return a;
  }

  // `reuseport`: SO_REUSEPORT, so that one listener per loop thread can bind
  // the same port and the kernel spreads the connections over them.
  // `address`: the IPv4 address to bind, in network byte order (0.0.0.0:
  // every interface).
  explicit listener(uint16_t port = 0, int sndbuf = 0, int backlog = 1024, bool reuseport = false,
                    in_addr_t address = htonl(INADDR_LOOPBACK)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw error(errno, "socket(AF_INET, SOCK_STREAM) failed");
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      int e = errno;
      close();
      throw error(e, "setsockopt(SO_REUSEPORT) failed: one listener per thread needs it");
    }
    if (sndbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = address;
    a.sin_port = htons(port);
    char text[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    bind_and_listen(a, std::string(text) + ":" + std::to_string(port), backlog,
                    address == htonl(INADDR_LOOPBACK)
                        ? "127.0.0.1 is not configured: is the loopback interface lo up?"
                        : std::string(text) + " is no address of this machine: give one of its own, or 0.0.0.0");
    port_ = ntohs(a.sin_port);
  }
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener() { close(); }

  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  // Connections still waiting in the backlog are reset.
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  // Binds to `a` (sockaddr_in or sockaddr_in6), listens, and reads back the
  // address (the port, when it was 0). On failure closes the socket and
  // throws, naming `where`; `not_here` is the message for EADDRNOTAVAIL.
  template <class Address>
  void bind_and_listen(Address& a, const std::string& where, int backlog, const std::string& not_here) {
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      int e = errno;
      close();
      if (e == EADDRINUSE) throw error(e, where + " is in use: pick another --port, or 0 for any free one");
      if (e == EACCES) throw error(e, "binding " + where + " is not allowed: use a port above 1023, or 0");
      if (e == EADDRNOTAVAIL) throw error(e, not_here);
      throw error(e, "cannot bind " + where);
    }
    if (::listen(fd_, backlog) != 0) {
      int e = errno;
      close();
      throw error(e, "listen on " + where + " failed");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
};

// `slots` receive buffers of `slot_bytes` each, in one mapping.
class slot_buffers {
 public:
  slot_buffers(uint32_t slots, uint32_t slot_bytes)
      : m_(iouloop::mapping::anonymous(size_t(slots) * slot_bytes, "the echo slot buffers")) {}
  iouloop::uaddr addr() const { return m_.user_addr(); }

 private:
  iouloop::mapping m_;
};

// After a run that stopped early (an error, the watchdog, a signal): closes
// the sockets the policy still holds, so that their clients see the end.
inline void close_open_slots(echo::params& p) {
  for (uint32_t i = 0; i < echo::max_conns; ++i)
    if (p.fd[i] >= 0) ::close(std::exchange(p.fd[i], -1));
}

// Reads a counter the loop is updating (from another thread).
inline uint32_t live(const uint32_t& counter) { return __atomic_load_n(&counter, __ATOMIC_ACQUIRE); }

// ---- clients -----------------------------------------------------------------------

// The bytes a client sends: a deterministic stream, regenerated to check the echo.
using iouloop_examples::byte_stream;

struct client_spec {
  size_t bytes = 0;         // sent, and expected back
  size_t max_chunk = 4096;  // each send is 1..max_chunk bytes
  uint64_t seed = 1;
  int read_delay_ms = 0;  // the reader starts late (the server's sends then fill up)
};

struct client_result {
  bool ok = false;
  std::string error;  // what went wrong, when !ok
  size_t sent = 0;    // bytes sent
  size_t echoed = 0;  // bytes received back, each checked
};

inline constexpr int client_timeout_s = 30;  // no progress for this long fails a client

inline std::string errno_text(int e) { return iouloop::error::errno_name(e); }

// A socket connected to 127.0.0.1:port with send/receive timeouts, or -errno.
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct timeval tv{client_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
}

inline bool send_all(int fd, const uint8_t* p, size_t n, std::string& err) {
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      err = "send failed: " + errno_text(errno == EAGAIN ? ETIMEDOUT : errno);
      return false;
    }
    p += k;
    n -= size_t(k);
  }
  return true;
}

// Receives exactly n bytes (false on EOF, error or timeout).
inline bool recv_exact(int fd, uint8_t* p, size_t n, std::string& err) {
  while (n > 0) {
    ssize_t k = ::recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) {
      err = "the server closed the connection early";
      return false;
    }
    if (k < 0) {
      err = "recv failed: " + errno_text(errno == EAGAIN ? ETIMEDOUT : errno);
      return false;
    }
    p += k;
    n -= size_t(k);
  }
  return true;
}

// The kernel's TCP states by number (include/net/tcp_states.h), as
// TCP_INFO and /proc/net/tcp give them.
inline const char* tcp_state_name(unsigned st) {
  static const char* const names[] = {"?",         "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                      "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING"};
  return st < 12 ? names[st] : "?";
}

// A TCP socket's state in a few words, for a failure's message: where the
// bytes and the FIN are (queued to send, unacknowledged, waiting to be read)
// and whether the peer's window holds them back (zero-window probes).
inline std::string tcp_text(int fd) {
  tcp_info i{};
  socklen_t len = sizeof i;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &len) != 0) return "fd " + std::to_string(fd) + ": no TCP_INFO";
  int outq = -1, notsent = -1, inq = -1;
  ::ioctl(fd, SIOCOUTQ, &outq);
  ::ioctl(fd, SIOCOUTQNSD, &notsent);
  ::ioctl(fd, SIOCINQ, &inq);
  return "fd " + std::to_string(fd) + " " + tcp_state_name(i.tcpi_state) + ": " + std::to_string(notsent) +
         " bytes not sent, " + std::to_string(outq) + " not acked or sent, " + std::to_string(inq) + " to read; " +
         std::to_string(i.tcpi_probes) + " zero-window probes, backoff " + std::to_string(i.tcpi_backoff) +
         ", last ack received " + std::to_string(i.tcpi_last_ack_recv) + " ms ago, last data received " +
         std::to_string(i.tcpi_last_data_recv) + " ms ago";
}

// The other end of a connection on this machine (IPv4 loopback), as
// /proc/net/tcp shows it, and which of this process's fds hold its socket:
// when a client waits for a FIN in vain, whether the server's socket is still
// open (an fd, or a reference that outlived its close) or gone.
inline std::string peer_text(int fd) {
  sockaddr_in me{}, peer{};
  socklen_t len = sizeof me;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len) != 0 || me.sin_family != AF_INET) return "";
  len = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return "";
  FILE* f = std::fopen("/proc/net/tcp", "r");
  if (!f) return "; no /proc/net/tcp";
  std::string out = "; the other end:";
  char line[512];
  bool found = false;
  while (std::fgets(line, sizeof line, f)) {
    unsigned la, lp, ra, rp, st, txq, rxq, tr, retr;
    unsigned long when, inode;
    int uid, timeout;
    if (std::sscanf(line, " %*d: %x:%x %x:%x %x %x:%x %x:%lx %x %d %d %lu", &la, &lp, &ra, &rp, &st, &txq, &rxq, &tr,
                    &when, &retr, &uid, &timeout, &inode) != 13)
      continue;
    if (lp != ntohs(peer.sin_port) || rp != ntohs(me.sin_port)) continue;
    found = true;
    out += std::string(" ") + tcp_state_name(st) + ", " + std::to_string(txq) + " bytes to send, " +
           std::to_string(rxq) + " to read, timer " + std::to_string(tr) + ", " + std::to_string(retr) +
           " retransmits, inode " + std::to_string(inode);
    std::string holders;
    if (inode != 0) {
      const std::string want = "socket:[" + std::to_string(inode) + "]";
      if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d)) {
          char target[64];
          const std::string link = std::string("/proc/self/fd/") + e->d_name;
          const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
          if (n > 0 && std::string(target, size_t(n)) == want) holders += std::string(" ") + e->d_name;
        }
        ::closedir(d);
      }
      out += holders.empty() ? " (no fd of this process holds it)" : " (held by fd" + holders + " of this process)";
    } else {
      out += " (closed: no file holds it)";
    }
  }
  std::fclose(f);
  return found ? out : "; the other end: not in /proc/net/tcp";
}

// True when the server closes the connection (EOF) within the timeout.
inline bool sees_eof(int fd, std::string& err) {
  uint8_t b;
  for (;;) {
    ssize_t k = ::recv(fd, &b, 1, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) return true;
    err =
        k > 0 ? "unexpected data where EOF was expected" : "no EOF: " + errno_text(errno == EAGAIN ? ETIMEDOUT : errno);
    return false;
  }
}

// One echo client: a writer thread sends spec.bytes in random-sized chunks
// and then half-closes; this thread reads the echo, checks every byte, and
// expects EOF after exactly spec.bytes.
inline client_result run_client(uint16_t port, const client_spec& spec) {
  client_result r;
  const int fd = connect_loopback(port);
  if (fd < 0) {
    r.error = "connect to 127.0.0.1:" + std::to_string(port) + " failed: " + errno_text(-fd);
    return r;
  }
  std::string send_err;
  std::thread writer([&] {
    byte_stream data(spec.seed), sizes(~spec.seed);
    std::vector<uint8_t> buf(std::max<size_t>(spec.max_chunk, 1));
    while (r.sent < spec.bytes) {
      size_t n = std::min<size_t>(1 + sizes.next64() % buf.size(), spec.bytes - r.sent);
      for (size_t i = 0; i < n; ++i) buf[i] = data.next();
      if (!send_all(fd, buf.data(), n, send_err)) return;
      r.sent += n;
    }
    if (::shutdown(fd, SHUT_WR) != 0) send_err = "shutdown(SHUT_WR) failed: " + errno_text(errno);
  });
  if (spec.read_delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(spec.read_delay_ms));
  std::string recv_err;
  byte_stream expect(spec.seed);
  std::vector<uint8_t> buf(65536);
  for (;;) {
    ssize_t k = ::recv(fd, buf.data(), buf.size(), 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) break;
    if (k < 0) {
      const int e = errno;
      recv_err = "recv failed after " + std::to_string(r.echoed) +
                 " bytes: " + errno_text(e == EAGAIN ? ETIMEDOUT : e) + " (client " + tcp_text(fd) + peer_text(fd) +
                 ")";
      break;
    }
    for (ssize_t i = 0; i < k && recv_err.empty(); ++i)
      if (buf[size_t(i)] != expect.next())
        recv_err = "echoed byte " + std::to_string(r.echoed + size_t(i)) + " differs from the byte sent";
    if (!recv_err.empty()) break;
    r.echoed += size_t(k);
    if (r.echoed > spec.bytes) {
      recv_err =
          "got " + std::to_string(r.echoed) + " bytes back, more than the " + std::to_string(spec.bytes) + " sent";
      break;
    }
  }
  if (!recv_err.empty()) ::shutdown(fd, SHUT_RDWR);  // unblocks the writer
  writer.join();
  ::close(fd);
  if (!recv_err.empty())
    r.error = recv_err;
  else if (!send_err.empty())
    r.error = send_err;
  else if (r.echoed != spec.bytes)
    r.error = "EOF after " + std::to_string(r.echoed) + " of " + std::to_string(spec.bytes) + " bytes";
  r.ok = r.error.empty();
  return r;
}

// `n` clients at once; client i uses seed + i.
inline std::vector<client_result> concurrent_clients(uint16_t port, uint32_t n, size_t bytes, size_t max_chunk,
                                                     uint64_t seed) {
  std::vector<client_result> r(n);
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] { r[i] = run_client(port, {bytes, max_chunk, seed + i}); });
  for (auto& t : threads) t.join();
  return r;
}

// Clients that leave without reading their echo.
enum class leave { at_once, unread, reset };

// Connects and makes sure it is served (a 1-byte round trip), unless
// leave::at_once; then sends `bytes` more as far as the socket takes them
// without blocking, reads nothing, and closes: at_once and unread with a FIN
// (unread echo makes it a reset), reset with SO_LINGER 0.
inline client_result run_leaving_client(uint16_t port, leave how, size_t bytes, uint64_t seed) {
  client_result r;
  const int fd = connect_loopback(port);
  if (fd < 0) {
    r.error = "connect failed: " + errno_text(-fd);
    return r;
  }
  if (how != leave::at_once) {
    uint8_t b = 42, back = 0;
    if (!send_all(fd, &b, 1, r.error) || !recv_exact(fd, &back, 1, r.error)) {
      ::close(fd);
      return r;
    }
    if (back != b) r.error = "the round trip returned a different byte";
    byte_stream data(seed);
    std::vector<uint8_t> buf(bytes);
    for (auto& c : buf) c = data.next();
    size_t off = 0;
    while (off < bytes) {
      ssize_t k = ::send(fd, buf.data() + off, bytes - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k <= 0) break;
      off += size_t(k);
    }
    r.sent = off + 1;
  }
  if (how == leave::reset) {
    struct linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd);
  r.ok = r.error.empty();
  return r;
}

// `slots` clients take every slot (each proves it with a round trip); one
// more connects and must be closed by the server at once (EOF); the holders
// then echo once more and leave. The last result is the rejected client's.
inline std::vector<client_result> overflow_clients(uint16_t port, uint32_t slots) {
  std::vector<client_result> r(slots + 1);
  std::vector<int> fds(slots, -1);
  auto round_trip = [&](uint32_t i, uint8_t b) {
    uint8_t back = 0;
    if (fds[i] < 0 || !r[i].error.empty()) return;
    if (send_all(fds[i], &b, 1, r[i].error) && recv_exact(fds[i], &back, 1, r[i].error)) {
      r[i].sent++;
      r[i].echoed++;
      if (back != b) r[i].error = "the round trip returned a different byte";
    }
  };
  for (uint32_t i = 0; i < slots; ++i) {
    fds[i] = connect_loopback(port);
    if (fds[i] < 0) r[i].error = "connect failed: " + errno_text(-fds[i]);
    round_trip(i, uint8_t(i));
  }
  const int extra = connect_loopback(port);
  client_result& x = r[slots];
  if (extra < 0)
    x.error = "connect failed: " + errno_text(-extra);
  else if (!sees_eof(extra, x.error))
    x.error = "the connection beyond the slots was not closed by the server: " + x.error;
  if (extra >= 0) ::close(extra);
  x.ok = x.error.empty();
  for (uint32_t i = 0; i < slots; ++i) {
    round_trip(i, uint8_t(i + 1));
    if (fds[i] < 0) continue;
    ::shutdown(fds[i], SHUT_WR);
    std::string err;
    if (r[i].error.empty() && !sees_eof(fds[i], err)) r[i].error = err;
    ::close(fds[i]);
    r[i].ok = r[i].error.empty();
  }
  return r;
}

// `n` clients one after another, each starting only once the server has
// closed the previous one (`closed` is its live counter): with fewer slots
// than clients, every connection reuses a slot and none is rejected.
inline std::vector<client_result> sequential_clients(uint16_t port, uint32_t n, size_t bytes, size_t max_chunk,
                                                     uint64_t seed, const uint32_t& closed) {
  std::vector<client_result> r(n);
  for (uint32_t i = 0; i < n; ++i) {
    r[i] = run_client(port, {bytes, max_chunk, seed + i});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(client_timeout_s);
    while (live(closed) < i + 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (live(closed) < i + 1 && r[i].ok) {
      r[i].ok = false;
      r[i].error = "the server did not close the connection within " + std::to_string(client_timeout_s) + " s";
    }
    if (!r[i].ok) break;  // the rest would be rejected or hang
  }
  return r;
}

// ---- after a failure -------------------------------------------------------------

// What the kernel holds for this process, for a failure's message: the
// ring's /proc fdinfo (its SQ and CQ, and the requests it still polls), and
// each thread's name and where it sleeps (io-wq workers are iou-wrk-*).
inline std::string kernel_side_text(int ring_fd) {
  auto slurp = [](const std::string& path, size_t max) {
    std::string out;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while (out.size() < max && (n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
      std::fclose(f);
    }
    if (out.size() > max) out.resize(max);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  std::string s = "; ring fdinfo: " + slurp("/proc/self/fdinfo/" + std::to_string(ring_fd), 6000) + "; threads:";
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const std::string dir = std::string("/proc/self/task/") + e->d_name;
      s += std::string(" [") + e->d_name + " " + slurp(dir + "/comm", 64) + " in " + slurp(dir + "/wchan", 64) + "]";
    }
    ::closedir(d);
  }
  return s;
}

// ---- watchdog --------------------------------------------------------------------

// Interrupts a run that does not end: once `limit` has passed (or `grace`
// after clients_done()), sends SIGUSR1 to the thread that made it, every
// 100 ms until disarm(), so that the engine's run() returns -EINTR.
class watchdog {
 public:
  using clock = std::chrono::steady_clock;

  explicit watchdog(std::chrono::milliseconds limit) : target_(pthread_self()), deadline_(clock::now() + limit) {
    struct sigaction sa{};
    sa.sa_handler = [](int) {};  // no SA_RESTART: the loop must see EINTR
    ::sigaction(SIGUSR1, &sa, nullptr);
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(m_);
      while (!done_) {
        cv_.wait_until(lock, deadline_);
        if (done_ || clock::now() < deadline_) continue;
        fired_ = true;
        ::pthread_kill(target_, SIGUSR1);
        deadline_ = clock::now() + std::chrono::milliseconds(100);
      }
    });
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() {
    disarm();
    thread_.join();
  }

  void clients_done(std::chrono::milliseconds grace) {
    std::lock_guard<std::mutex> lock(m_);
    deadline_ = std::min(deadline_, clock::now() + grace);
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(m_);
    done_ = true;
    cv_.notify_all();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(m_);
    return fired_;
  }

 private:
  pthread_t target_;
  std::mutex m_;
  std::condition_variable cv_;
  clock::time_point deadline_;
  bool done_ = false, fired_ = false;
  std::thread thread_;
};

// A demo's --selftest, after its last run(): joins the client thread (if
// there is one) while the ring's deferred work runs, because the clients wait
// for the EOF of sockets the policy closed, which a request freed later may
// still hold (iouloop/engine/settle.hpp). `done` is the clients' flag, set
// when they end. Throws if entering the ring fails.
template <class Engine>
void join_clients_settling(Engine& e, const iouloop::ring& ring, std::thread& clients, const std::atomic<bool>& done) {
  if (!clients.joinable()) return;
  const int settled = iouloop::settle_until(e, ring, [&] { return done.load(std::memory_order_acquire); });
  clients.join();
  if (settled < 0) throw iouloop::error(-settled, "selftest: running the ring's deferred work after the run failed");
}

}  // namespace echo_host
