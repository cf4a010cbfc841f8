// Host side of echo2, shared by echo2_main.cc and the tests: the server's
// resources on a ring (buffer pool, fixed file table, the buffer group), and
// a client load that runs many connections from ONE thread (nonblocking
// sockets, epoll), each checking every byte that comes back. The loopback
// interface, the listener and the watchdog are examples/echo's.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "examples/common/bytes.hpp"
#include "examples/echo/echo_host.hpp"
#include "examples/echo2/echo2_policy.hpp"
#include "iouloop/engine/buf_ring.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/fixed_files.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/probe.hpp"

namespace echo2_host {

using iouloop::error;
using iouloop::u32;
using iouloop::u64;

// Raises RLIMIT_NOFILE's soft limit to `want` fds (the hard limit too, when
// allowed): the client sockets and the fixed file table both count.
inline void raise_fd_limit(rlim_t want) {
  struct rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) throw error(errno, "getrlimit(RLIMIT_NOFILE) failed");
  if (r.rlim_cur >= want) return;
  if (r.rlim_max < want) {
    struct rlimit h{want, want};
    if (::setrlimit(RLIMIT_NOFILE, &h) == 0) return;
  }
  if (r.rlim_max < want)
    throw error(EMFILE, "RLIMIT_NOFILE allows " + std::to_string(r.rlim_max) + " fds, " + std::to_string(want) +
                            " are needed: raise it (ulimit -n)");
  r.rlim_cur = want;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) throw error(errno, "setrlimit(RLIMIT_NOFILE) failed");
}

struct server_config {
  u32 table = 1024;        // fixed file table slots, 1 .. echo2::max_slots
  u32 nbufs = 128;         // buffers in the shared ring, 1 .. echo2::entries
  u32 buf_size = 4096;     // bytes per buffer, 1 .. 65536
  u32 expect = 0;          // stop once this many connections came and went (0: until stopped)
  u32 slot_cap = 0;        // buffers one connection may hold queued, 1 .. 255 (0: nbufs / 16, at least 2)
  bool recv_limit = true;  // bound each slot's first multishot recv where the kernel can (false: as before Linux 6.17)
};

// Says what is wrong with `c`, or "".
inline std::string config_problem(const server_config& c) {
  if (c.table < 1 || c.table > echo2::max_slots)
    return "the fixed file table needs 1 .. " + std::to_string(echo2::max_slots) + " slots, not " +
           std::to_string(c.table);
  if (c.nbufs < 1 || c.nbufs > echo2::entries)
    return "the buffer ring holds 1 .. " + std::to_string(echo2::entries) + " buffers, not " + std::to_string(c.nbufs);
  if (c.buf_size < 1 || c.buf_size > 65536) return "a buffer is 1 .. 65536 bytes, not " + std::to_string(c.buf_size);
  if (std::string bad = echo_host::slot_cap_problem(c.slot_cap); !bad.empty()) return bad;
  return "";
}

// What the server needs on a ring besides the policy: the buffers, the
// fixed file table and the buffer group, registered from `params` (filled
// here: every buffer starts in the ring). Declare it after the ring and the
// param region; it goes first.
class server {
 public:
  server(const iouloop::ring& r, echo2::params& p, int listen_fd, const server_config& c)
      : pool_(iouloop::mapping::anonymous(u64(c.nbufs) * c.buf_size, "the echo2 buffers")), files_(r, c.table) {
    if (const std::string bad = config_problem(c); !bad.empty()) throw error(EINVAL, bad);
    p = echo2::params{};
    p.group = iouloop::buf_group{1};
    p.listener = listen_fd;
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

// ---- the client load ---------------------------------------------------------------

enum class kind {
  echo,        // request, wait for its echo, next request; then shutdown(SHUT_WR), EOF
  half_close,  // everything at once, shutdown(SHUT_WR) before reading; all back, then EOF
  reset,       // half a request, its echo, a few bytes more, then close with SO_LINGER 0
  gated,       // everything at once, reads nothing until `read_gate`; all back, then EOF
};

struct load_spec {
  uint16_t port = 0;
  u32 clients = 1;
  kind how = kind::echo;
  u32 requests = 3;                              // per client (echo)
  u32 request_bytes = 1000;                      // at most, per request; a client's total for the others
  u64 seed = 1;                                  // client i's bytes: byte_stream(seed + i)
  int limit_s = 20;                              // the whole load
  int rcvbuf = 0;                                // the clients' SO_RCVBUF (0: default)
  const std::atomic<bool>* read_gate = nullptr;  // gated: reading starts once it holds
  // A connection closed before any byte came back (EOF, ECONNRESET, EPIPE)
  // counts as refused, not failed: what a server with a full table does.
  bool may_refuse = false;
};

struct load_result {
  u32 done = 0;  // clients that finished as their kind should
  u32 failed = 0;
  u32 refused = 0;           // closed by the server before any echo (may_refuse)
  std::string first_error;   // the first failure, with its client
  u64 sent = 0, echoed = 0;  // bytes, over all clients
  bool timed_out = false;
  bool ok() const { return failed == 0 && !timed_out; }
};

// Request r of client i: 1 .. request_bytes bytes.
inline u32 request_size(const load_spec& s, u32 i, u32 r) {
  return 1 + u32((u64(i) * 7919 + u64(r) * 104729 + s.seed) % s.request_bytes);
}

namespace detail {
struct client {
  int fd = -1;
  bool connected = false, shut = false, finished = false;
  u64 total = 0;  // bytes to send
  u64 sent = 0, echoed = 0;
  u64 allowed = 0;  // echo: the end of the current request
  u32 request = 0;
  iouloop_examples::byte_stream out{0}, in{0};
};
}  // namespace detail

// Runs `s.clients` connections to 127.0.0.1:s.port from this thread until
// each has finished (or failed), or s.limit_s has passed.
inline load_result run_load(const load_spec& s) {
  using detail::client;
  load_result res;
  std::vector<client> cs(s.clients);
  iouloop::unique_fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) throw error(errno, "epoll_create1 failed");
  auto fail = [&](client& c, u32 i, const std::string& why, bool refusal = false) {
    if (c.finished) return;
    c.finished = true;
    if (refusal && s.may_refuse && c.echoed == 0) {
      res.refused++;
      if (c.fd >= 0) ::close(std::exchange(c.fd, -1));
      return;
    }
    res.failed++;
    if (res.first_error.empty()) res.first_error = "client " + std::to_string(i) + ": " + why;
    if (c.fd >= 0) ::close(std::exchange(c.fd, -1));
  };
  auto finish = [&](client& c) {
    c.finished = true;
    res.done++;
    if (c.fd >= 0) ::close(std::exchange(c.fd, -1));
  };
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(s.port);
  for (u32 i = 0; i < s.clients; ++i) {
    client& c = cs[i];
    c.out = iouloop_examples::byte_stream(s.seed + i);
    c.in = iouloop_examples::byte_stream(s.seed + i);
    if (s.how == kind::echo)
      for (u32 r = 0; r < s.requests; ++r) c.total += request_size(s, i, r);
    else
      c.total = s.request_bytes;
    c.allowed = s.how == kind::echo ? request_size(s, i, 0) : s.how == kind::reset ? (c.total + 1) / 2 : c.total;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fail(c, i, "socket() failed: " + error::errno_name(errno));
      continue;
    }
    if (s.rcvbuf) ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &s.rcvbuf, sizeof s.rcvbuf);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
      fail(c, i, "connect failed: " + error::errno_name(errno));
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u32 = i;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.fd, &ev) != 0)
      fail(c, i, "epoll_ctl failed: " + error::errno_name(errno));
  }

  std::vector<uint8_t> buf(65536);
  // Writes what the socket takes of [sent, allowed).
  auto write_some = [&](client& c, u32 i) {
    while (c.sent < c.allowed) {
      const size_t n = size_t(std::min<u64>(c.allowed - c.sent, buf.size()));
      iouloop_examples::byte_stream peek = c.out;
      for (size_t k = 0; k < n; ++k) buf[k] = peek.next();
      const ssize_t w = ::send(c.fd, buf.data(), n, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) return true;
      if (w <= 0)
        return fail(c, i, "send failed: " + error::errno_name(errno), errno == EPIPE || errno == ECONNRESET), false;
      for (ssize_t k = 0; k < w; ++k) c.out.next();
      c.sent += u64(w);
      res.sent += u64(w);
    }
    return true;
  };
  // Everything due is sent: half-close, or (reset) leave with an RST.
  auto after_write = [&](client& c, u32 i) {
    if (c.sent < c.allowed) return;
    if (s.how == kind::reset && c.echoed == c.allowed && c.allowed < c.total) {
      // mid-request: a few bytes of the rest, then an RST instead of a FIN
      c.allowed = c.total;
      if (!write_some(c, i)) return;
      struct linger l{1, 0};
      ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      finish(c);
      return;
    }
    if (c.sent == c.total && !c.shut && s.how != kind::reset && s.how != kind::gated) {
      if (::shutdown(c.fd, SHUT_WR) != 0) return fail(c, i, "shutdown(SHUT_WR) failed: " + error::errno_name(errno));
      c.shut = true;
    }
  };
  auto read_some = [&](client& c, u32 i) {
    if (s.how == kind::gated && !s.read_gate->load()) return;
    for (;;) {
      const ssize_t r = ::recv(c.fd, buf.data(), buf.size(), 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (r < 0)
        return fail(c, i, "recv failed after " + std::to_string(c.echoed) + " bytes: " + error::errno_name(errno),
                    errno == ECONNRESET);
      if (r == 0) {
        if (c.echoed == c.total) return finish(c);
        return fail(c, i, "EOF after " + std::to_string(c.echoed) + " of " + std::to_string(c.total) + " bytes", true);
      }
      for (ssize_t k = 0; k < r; ++k)
        if (buf[size_t(k)] != c.in.next())
          return fail(c, i, "echoed byte " + std::to_string(c.echoed + u64(k)) + " differs from the byte sent");
      c.echoed += u64(r);
      res.echoed += u64(r);
      if (c.echoed > c.sent) return fail(c, i, "more bytes back than sent");
      if (s.how == kind::echo && c.echoed == c.allowed && c.request + 1 < s.requests) {
        c.request++;
        c.allowed += request_size(s, i, c.request);
      }
      if (!write_some(c, i)) return;
      after_write(c, i);
      if (c.finished) return;
    }
  };

  // What to wait for: writable while there is something to send, readable
  // unless the reads are gated (level-triggered: unread data would wake
  // epoll_wait again and again).
  auto watch = [&](client& c, u32 i) {
    epoll_event ev{};
    ev.events = c.sent < c.allowed ? EPOLLOUT : 0;
    if (s.how != kind::gated || s.read_gate->load()) ev.events |= EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = i;
    ::epoll_ctl(ep.get(), EPOLL_CTL_MOD, c.fd, &ev);
  };

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.limit_s);
  std::vector<epoll_event> evs(256);
  bool gate_seen = false;
  while (res.done + res.failed + res.refused < s.clients) {
    if (std::chrono::steady_clock::now() > deadline) {
      res.timed_out = true;
      for (u32 i = 0; i < s.clients; ++i)
        if (!cs[i].finished)
          fail(cs[i], i,
               "no end within " + std::to_string(s.limit_s) + " s (sent " + std::to_string(cs[i].sent) + ", echoed " +
                   std::to_string(cs[i].echoed) + " of " + std::to_string(cs[i].total) + ")");
      break;
    }
    const int n = ::epoll_wait(ep.get(), evs.data(), int(evs.size()), 20);
    if (n < 0 && errno != EINTR) throw error(errno, "epoll_wait failed");
    for (int k = 0; k < n; ++k) {
      const u32 i = evs[size_t(k)].data.u32;
      client& c = cs[i];
      if (c.finished) continue;
      if (!c.connected) {
        int e = 0;
        socklen_t len = sizeof e;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &e, &len);
        if (e) {
          fail(c, i, "connect failed: " + error::errno_name(e), e == ECONNRESET);
          continue;
        }
        c.connected = true;
      }
      if (!write_some(c, i)) continue;
      after_write(c, i);
      if (!c.finished) read_some(c, i);
      if (!c.finished) watch(c, i);
    }
    // gated: the gate opened; the sockets' data waited unwatched
    if (s.how == kind::gated && s.read_gate->load() && !gate_seen) {
      gate_seen = true;
      for (u32 i = 0; i < s.clients; ++i)
        if (!cs[i].finished) {
          read_some(cs[i], i);
          if (!cs[i].finished) watch(cs[i], i);
        }
    }
  }
  return res;
}

// ---- one loop per thread -----------------------------------------------------------

// N loops, one per thread, each on its own ring and its own listener on one
// port (SO_REUSEPORT: the kernel spreads the connections). A ring's
// submitter is the thread that made it (SINGLE_ISSUER), so `body` makes the
// ring, the params, the server and the engine in its thread and calls
// serve_until_stopped().
//
// stop() reaches every loop with a signal sent to its thread (pthread_kill):
// a loop ends its run with -EINTR only for its own thread's signals (the
// kernel checks task_sigpending(current)), so one signal per thread, sent
// again every 2 ms to a loop that has not begun its stop yet (a signal that
// comes before run() blocks signals is taken by the empty handler and lost).
class loop_crew {
 public:
  enum phase : int { starting, serving, stopping, done };
  struct member {
    std::atomic<int> phase{starting};
    const echo2::params* live = nullptr;  // the loop's params while it serves (under `mu`)
    std::mutex mu;
    std::atomic<bool> cut{false};  // a hard stop: no graceful run after -EINTR
    int ret = 0;                   // the last run()
    int runs = 0;
    echo2::params end{};  // the params when the loop ended
    std::string exit_text;
    std::string error;  // what stopped the thread before or around its loop
  };

  // `body(i, member&)` runs in thread i.
  template <class Body>
  loop_crew(u32 n, Body body) {
    for (u32 i = 0; i < n; ++i) members_.push_back(std::make_unique<member>());
    for (u32 i = 0; i < n; ++i)
      threads_.emplace_back([this, i, body] {
        member& m = *members_[i];
        try {
          body(i, m);
        } catch (const std::exception& e) {
          m.error = e.what();
        } catch (...) {
          m.error = "a non-standard exception";
        }
        m.phase.store(done);
      });
  }
  loop_crew(const loop_crew&) = delete;
  loop_crew& operator=(const loop_crew&) = delete;
  ~loop_crew() { join(); }

  u32 size() const { return u32(members_.size()); }
  member& operator[](u32 i) { return *members_[i]; }

  // Runs member m's loop until it is stopped: -EINTR is the stop, so
  // `stopping` goes into the params and the loop runs again (and again if a
  // late signal of the same stop interrupts that run), unless cut.
  template <class Run>
  static void serve_until_stopped(member& m, echo2::params& p, Run run) {
    {
      std::lock_guard<std::mutex> hold(m.mu);
      m.live = &p;
    }
    m.phase.store(serving);
    int ret = run();
    m.runs = 1;
    while (ret == -EINTR && !m.cut.load() && m.runs < 100) {
      p.stopping = 1;
      m.phase.store(stopping);
      ret = run();
      ++m.runs;
    }
    m.ret = ret;
    m.end = p;
    std::lock_guard<std::mutex> hold(m.mu);
    m.live = nullptr;  // the params go with the body's session
  }

  // Sums a counter over the loops that serve (as another thread sees it).
  u64 total(u32 echo2::params::* field) const {
    u64 sum = 0;
    for (const auto& m : members_) {
      std::lock_guard<std::mutex> hold(m->mu);
      if (const echo2::params* p = m->live) sum += __atomic_load_n(&(p->*field), __ATOMIC_ACQUIRE);
    }
    return sum;
  }

  // Sends `signo` to every loop until each has begun its stop (or ended);
  // false if one has not within `limit`. `hard`: cut the loops short (no
  // graceful run), sending until each has ended.
  bool stop(int signo, std::chrono::milliseconds limit, bool hard = false) {
    if (hard)
      for (auto& m : members_) m->cut.store(true);
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      bool all = true;
      for (u32 i = 0; i < size(); ++i) {
        const int ph = members_[i]->phase.load();
        if (ph == done || (ph == stopping && !hard)) continue;
        all = false;
        if (ph != starting) ::pthread_kill(threads_[i].native_handle(), signo);
      }
      if (all) return true;
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Waits until every loop serves (or has ended); false after `limit`.
  bool wait_serving(std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      bool all = true;
      for (const auto& m : members_)
        if (m->phase.load() == starting) all = false;
      if (all) return true;
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Whether every loop has ended.
  bool ended() const {
    for (const auto& m : members_)
      if (m->phase.load() != done) return false;
    return true;
  }

  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  std::vector<std::unique_ptr<member>> members_;
  std::vector<std::thread> threads_;
};

}  // namespace echo2_host
