// loadgen: a TCP echo load from ONE thread (nonblocking sockets, epoll) that
// verifies every byte that comes back. For bench/icount.sh's net-* workloads
// and for trying a server by hand.
//
//   loadgen --port P [--address A] [--connections N] [--bytes S] [--depth D]
//           [--requests R | --seconds T] [--warmup W] [--seed X]
//           [--region ID --label L] [-- SERVER ARGS...]
//
//   --address A      the server's IPv4 address (127.0.0.1; bench/percore.sh
//                    --load host gives the VM's, on a tap device)
//   --connections N  connections to A:P (1)
//   --bytes S        bytes per request, 1 .. 65536 (512)
//   --depth D        requests in flight per connection (1: ping-pong)
//   --requests R     requests per connection (1000), or
//   --seconds T      issue requests for T seconds, then wait for the echoes
//   --warmup W       ping-pong requests per connection before the measured
//                    phase (1: the server has accepted and armed every
//                    connection before it starts)
//   --region ID --label L
//                    mark exactly the measured phase for the insn_count
//                    plugin (bench/icount/marker.h: the pause, then the
//                    markers) and print its "@@iouperf region" line, with
//                    ops = requests
//   -- SERVER ARGS   start the server first (fork, exec; it inherits the
//                    CPU affinity), and after the load wait for it: its exit
//                    status must be 0 (give it a client count so that it
//                    stops once the connections are closed)
//
// Phases: connect (retrying while the listener is not there yet, up to 60 s),
// warm-up, the measured phase (requests only), close, wait for the server.
// Connection i's bytes are one endless stream: byte o is pat[(base_i + o) %
// P], pat from examples/common's byte_stream, P = 65521 (a prime: no request
// size lines up with it), so a byte out of place or from another connection
// does not compare equal; the check is a memcmp per recv.
// Prints requests, bytes, failures and wall time (the guest's clock in the
// VM: TCG time); exit 1 on any mismatch, error or time-out.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/icount/marker.h"
#include "examples/common/bytes.hpp"
#include "examples/common/cli.hpp"
#include "examples/echo/echo_host.hpp"
#include "examples/echo2/echo2_host.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/owned.hpp"

namespace {

using iouloop::error;
using u64 = unsigned long long;

constexpr size_t period = 65521;
constexpr size_t max_chunk = 65536;

struct options {
  uint16_t port = 0;
  std::string address = "127.0.0.1";
  in_addr_t address_n = htonl(INADDR_LOOPBACK);
  unsigned connections = 1;
  unsigned bytes = 512;
  unsigned depth = 1;
  unsigned requests = 1000;
  double seconds = 0;
  unsigned warmup = 1;
  u64 seed = 1;
  int region = -1;
  std::string label;
  std::vector<char*> server;  // argv, null-terminated
};

// The stream every connection draws from, twice as long as needed so that
// any chunk starting below `period` is contiguous.
struct stream_table {
  std::vector<unsigned char> pat;
  explicit stream_table(u64 seed) : pat(period + max_chunk) {
    iouloop_examples::byte_stream s(seed);
    for (size_t k = 0; k < period; ++k) pat[k] = s.next();
    for (size_t k = period; k < pat.size(); ++k) pat[k] = pat[k - period];
  }
  const unsigned char* at(u64 base, u64 offset) const { return pat.data() + (base + offset) % period; }
};

struct conn {
  iouloop::unique_fd fd;
  u64 base = 0;           // where its stream starts in the table
  u64 sent = 0;           // bytes
  u64 echoed = 0;         // bytes, verified
  u64 target = 0;         // bytes to send in this phase (end of its last request)
  bool want_out = false;  // EPOLLOUT is armed (a send stopped at EAGAIN)
};

struct totals {
  u64 requests = 0, bytes = 0;
  unsigned failures = 0;
  std::string first_error;
};

double now_s() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

class load {
 public:
  load(const options& o, const stream_table& t) : o_(o), t_(t), buf_(max_chunk), cs_(o.connections) {
    ep_ = iouloop::unique_fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) throw error(errno, "epoll_create1 failed");
  }

  // Connects every connection, retrying while nothing listens (the server
  // may still be loading), up to `limit_s`, while `gone()` says "".
  template <class Gone>
  void connect_all(double limit_s, Gone gone) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = o_.address_n;
    a.sin_port = htons(o_.port);
    const double deadline = now_s() + limit_s;
    for (unsigned i = 0; i < cs_.size(); ++i) {
      conn& c = cs_[i];
      c.base = (u64(i) * 7919 + o_.seed) % period;
      for (;;) {
        c.fd = iouloop::unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!c.fd) throw error(errno, "socket() failed");
        if (::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) break;
        const int e = errno;
        const std::string where =
            "connection " + std::to_string(i) + " to " + o_.address + ":" + std::to_string(o_.port);
        if (e != ECONNREFUSED || now_s() > deadline) throw error(e, where + " failed");
        if (const std::string why = gone(); !why.empty()) throw error(e, where + " failed: " + why);
        ::usleep(20000);
      }
      int one = 1;
      ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const int fl = ::fcntl(c.fd.get(), F_GETFL);
      ::fcntl(c.fd.get(), F_SETFL, fl | O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) throw error(errno, "epoll_ctl failed");
    }
  }

  // One phase: `requests` more per connection (or, with `seconds`, as many
  // as fit), `depth` in flight; returns once every echo is back and checked,
  // a connection failed, or `limit_s` passed.
  totals run(unsigned requests, double seconds, unsigned depth, double limit_s) {
    totals tot;
    const u64 req = o_.bytes;
    const u64 window = req * depth;
    const bool timed = seconds > 0;
    const double t0 = now_s(), stop_issuing = t0 + seconds, deadline = t0 + limit_s;
    u64 start_echoed = 0;
    for (conn& c : cs_) {
      start_echoed += c.echoed;
      c.target = timed ? c.sent + window : c.sent + req * requests;
    }
    unsigned pending = 0;  // connections with echoes still to come
    for (unsigned i = 0; i < cs_.size(); ++i) {
      if (cs_[i].echoed < cs_[i].target) pending++;
      if (!send_some(i, window, tot)) return tot;
    }
    bool issuing = timed;
    std::vector<epoll_event> evs(256);
    while (pending) {
      if (issuing && now_s() > stop_issuing) {
        issuing = false;
        // no new requests: what is in flight is the last
        pending = 0;
        for (conn& c : cs_) {
          c.target = c.sent + (req - c.sent % req) % req;
          if (c.echoed < c.target) pending++;
        }
        if (!pending) break;
      }
      const int n = ::epoll_wait(ep_.get(), evs.data(), int(evs.size()), 100);
      if (n < 0 && errno != EINTR) throw error(errno, "epoll_wait failed");
      if (n <= 0 && now_s() > deadline) {
        fail(tot, 0,
             "no end within " + std::to_string(limit_s) + " s (" + std::to_string(pending) + " connections waiting)");
        return tot;
      }
      for (int k = 0; k < n; ++k) {
        const unsigned i = evs[size_t(k)].data.u32;
        conn& c = cs_[i];
        const bool was_pending = c.echoed < c.target;
        if (evs[size_t(k)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
          if (!recv_some(i, tot)) return tot;
        if (issuing && c.target - c.echoed < window) c.target = c.echoed + window;
        if (!send_some(i, window, tot)) return tot;
        if (was_pending && c.echoed >= c.target) pending--;
      }
    }
    for (const conn& c : cs_) tot.bytes += c.echoed;
    tot.bytes -= start_echoed;
    tot.requests = tot.bytes / req;
    return tot;
  }

  void close_all() {
    for (conn& c : cs_) c.fd.reset();
  }

 private:
  void fail(totals& tot, unsigned i, const std::string& why) {
    tot.failures++;
    if (tot.first_error.empty()) tot.first_error = "connection " + std::to_string(i) + ": " + why;
  }

  // Sends what the window and the phase allow; arms EPOLLOUT when the socket
  // is full, disarms it when it is not needed.
  bool send_some(unsigned i, u64 window, totals& tot) {
    conn& c = cs_[i];
    bool blocked = false;
    for (;;) {
      const u64 end = std::min(c.target, c.echoed + window);
      if (c.sent >= end) break;
      const size_t n = size_t(std::min<u64>(end - c.sent, max_chunk));
      const ssize_t w = ::send(c.fd.get(), t_.at(c.base, c.sent), n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        blocked = true;
        break;
      }
      if (w <= 0) return fail(tot, i, "send failed: " + error::errno_name(errno)), false;
      c.sent += u64(w);
    }
    if (blocked != c.want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (blocked ? EPOLLOUT : 0u);
      ev.data.u32 = i;
      ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
      c.want_out = blocked;
    }
    return true;
  }

  // Reads what is there and checks it. A read shorter than the buffer ends
  // the loop without the extra recv that would say EAGAIN (level-triggered:
  // anything left wakes epoll_wait again).
  bool recv_some(unsigned i, totals& tot) {
    conn& c = cs_[i];
    for (;;) {
      const ssize_t r = ::recv(c.fd.get(), buf_.data(), buf_.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN) return true;
      if (r < 0)
        return fail(tot, i, "recv failed after " + std::to_string(c.echoed) + " bytes: " + error::errno_name(errno)),
               false;
      if (r == 0) return fail(tot, i, "EOF after " + std::to_string(c.echoed) + " bytes"), false;
      if (c.echoed + u64(r) > c.sent) return fail(tot, i, "more bytes back than sent"), false;
      if (std::memcmp(buf_.data(), t_.at(c.base, c.echoed), size_t(r)) != 0) {
        size_t k = 0;
        while (buf_[k] == t_.at(c.base, c.echoed)[k]) ++k;
        return fail(tot, i, "echoed byte " + std::to_string(c.echoed + k) + " differs from the byte sent"), false;
      }
      c.echoed += u64(r);
      if (size_t(r) < buf_.size()) return true;
    }
  }

  const options& o_;
  const stream_table& t_;
  std::vector<unsigned char> buf_;
  std::vector<conn> cs_;
  iouloop::unique_fd ep_;
};

int usage(const char* me) {
  std::fprintf(
      stderr,
      "usage: %s --port P [--address A] [--connections N] [--bytes S] [--depth D] [--requests R | --seconds T]\n"
      "          [--warmup W] [--seed X] [--region ID --label L] [-- SERVER ARGS...]\n",
      me);
  return 2;
}

pid_t spawn(std::vector<char*>& argv) {
  const pid_t pid = ::fork();
  if (pid < 0) throw error(errno, "fork failed");
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "loadgen: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

// The server's exit status: "" when it exited 0 (or, with WNOHANG, runs).
std::string reap(pid_t pid, const char* name, int how = 0) {
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, how);
    if (r == 0) return "";
    if (r > 0) break;
    if (errno != EINTR) return std::string("waitpid failed: ") + std::strerror(errno);
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
  if (WIFEXITED(st)) return std::string(name) + " exited " + std::to_string(WEXITSTATUS(st));
  return std::string(name) + " was killed by signal " + std::to_string(WTERMSIG(st));
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  pid_t server = -1;
  try {
    int i = 1;
    for (; i < argc; ++i) {
      const std::string a = argv[i];
      auto num = [&](const char* flag) { return example::number(flag, example::value_of(argc, argv, i, flag)); };
      if (a == "--") {
        ++i;
        break;
      } else if (a == "--port") {
        o.port = uint16_t(num("--port"));
      } else if (a == "--address") {
        o.address = example::value_of(argc, argv, i, "--address");
        o.address_n = example::ipv4("--address", o.address);
      } else if (a == "--connections") {
        o.connections = unsigned(num("--connections"));
      } else if (a == "--bytes") {
        o.bytes = unsigned(num("--bytes"));
      } else if (a == "--depth") {
        o.depth = unsigned(num("--depth"));
      } else if (a == "--requests") {
        o.requests = unsigned(num("--requests"));
      } else if (a == "--seconds") {
        o.seconds = double(num("--seconds"));
      } else if (a == "--warmup") {
        o.warmup = unsigned(num("--warmup"));
      } else if (a == "--seed") {
        o.seed = num("--seed");
      } else if (a == "--region") {
        o.region = int(num("--region"));
      } else if (a == "--label") {
        o.label = example::value_of(argc, argv, i, "--label");
      } else if (a == "-h" || a == "--help") {
        return usage(argv[0]);
      } else {
        throw error(EINVAL, "unknown argument '" + a + "' (see --help)");
      }
    }
    for (; i < argc; ++i) o.server.push_back(argv[i]);
    o.server.push_back(nullptr);
    if (o.port == 0) throw error(EINVAL, "--port is needed");
    if (o.connections < 1 || o.connections > 60000) throw error(EINVAL, "--connections: 1 .. 60000");
    if (o.bytes < 1 || o.bytes > max_chunk) throw error(EINVAL, "--bytes: 1 .. 65536");
    if (o.depth < 1 || u64(o.depth) * o.bytes > (u64(1) << 30)) throw error(EINVAL, "--depth: 1 .. 1 GiB / --bytes");
    if (o.region > 255) throw error(EINVAL, "--region: 0 .. 255");
    if (o.region >= 0 && o.label.empty()) throw error(EINVAL, "--region needs --label");

    ::signal(SIGPIPE, SIG_IGN);
    echo_host::ensure_loopback();
    echo2_host::raise_fd_limit(rlim_t(o.connections) + 64);
    if (o.server.size() > 1) server = spawn(o.server);

    const stream_table table(o.seed);
    load l(o, table);
    l.connect_all(60, [&] {
      if (server <= 0) return std::string();
      std::string why = reap(server, o.server[0], WNOHANG);
      if (!why.empty()) server = -1;
      return why;
    });
    totals warm = l.run(o.warmup, 0, 1, 120);
    bool ok = warm.failures == 0;
    totals t;
    if (ok) {
      iou_region r{};
      if (o.region >= 0) iou_region_begin(&r, unsigned(o.region));
      const double t0 = now_s();
      t = l.run(o.requests, o.seconds, o.depth, o.seconds > 0 ? o.seconds + 120 : 600);
      const double secs = now_s() - t0;
      if (o.region >= 0) {
        iou_region_end(&r);
        iou_region_report(&r, o.label.c_str(), t.requests);
      }
      std::printf(
          "loadgen: %u connections, %u bytes per request, depth %u: %llu requests, %llu bytes each way, %u failures "
          "in %.3f s (%.0f requests/s by the wall clock; in the VM: TCG's guest clock)\n",
          o.connections, o.bytes, o.depth, t.requests, t.bytes, t.failures, secs,
          secs > 0 ? double(t.requests) / secs : 0);
      ok = t.failures == 0;
    }
    l.close_all();
    const totals& bad = warm.failures ? warm : t;
    if (!ok)
      std::fprintf(stderr, "loadgen: FAILED%s: %s\n", warm.failures ? " (warm-up)" : "", bad.first_error.c_str());
    if (server > 0) {
      if (!ok) ::kill(server, SIGKILL);
      const std::string why = reap(std::exchange(server, -1), o.server[0]);
      if (ok && !why.empty()) {
        std::fprintf(stderr, "loadgen: the server failed: %s\n", why.c_str());
        ok = false;
      }
    }
    std::fflush(stdout);
    return ok ? 0 : 1;
  } catch (const error& e) {
    std::fprintf(stderr, "loadgen: %s\n", e.what());
    if (server > 0) ::kill(server, SIGKILL), reap(server, "the server");
    return 1;
  }
}
