// epoll_echo: the plain peer for bench/net: a one-thread, nonblocking,
// level-triggered epoll echo server. Per readable connection: read into one
// 64 KiB buffer, write it back; what the socket does not take waits in the
// connection's own buffer and EPOLLOUT is armed until it is gone (reads of
// that connection pause meanwhile, so its bytes stay in order).
//
//   epoll_echo --port P [--clients N]
//
// --clients N: exit once N connections came and went (0: until killed).
// Prints accepted/closed and the bytes received and sent; exit 1 when they
// differ or a call failed.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include <cstdio>
#include <string>
#include <vector>

#include "examples/common/cli.hpp"
#include "examples/echo/echo_host.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/owned.hpp"

namespace {

using iouloop::error;
using u64 = unsigned long long;

struct conn {
  std::vector<unsigned char> backlog;  // received, not yet sent back
  size_t off = 0;                      // sent part of `backlog`
};

struct stats {
  u64 accepted = 0, closed = 0, received = 0, sent = 0;
};

class server {
 public:
  server(int listen_fd, unsigned clients) : lfd_(listen_fd), clients_(clients), buf_(65536) {
    ep_ = iouloop::unique_fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) throw error(errno, "epoll_create1 failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd_;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, lfd_, &ev) != 0) throw error(errno, "epoll_ctl(listener) failed");
  }

  // Serves until `clients` connections came and went (or forever).
  void run() {
    std::vector<epoll_event> evs(256);
    while (!clients_ || st_.closed < clients_) {
      const int n = ::epoll_wait(ep_.get(), evs.data(), int(evs.size()), -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw error(errno, "epoll_wait failed");
      for (int k = 0; k < n; ++k) {
        const int fd = evs[size_t(k)].data.fd;
        if (fd == lfd_)
          accept_all();
        else if (evs[size_t(k)].events & EPOLLOUT)
          flush(fd);
        else
          echo(fd);
      }
    }
  }
  const stats& counts() const { return st_; }

 private:
  void accept_all() {
    for (;;) {
      const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
        throw error(errno, "accept4 failed");
      }
      if (size_t(fd) >= conns_.size()) conns_.resize(size_t(fd) + 1);
      conns_[size_t(fd)] = conn{};
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw error(errno, "epoll_ctl(connection) failed");
      st_.accepted++;
    }
  }

  void close_conn(int fd) {
    ::close(fd);  // also leaves the epoll set
    conns_[size_t(fd)] = conn{};
    st_.closed++;
  }

  // Reads once (level-triggered: more data wakes epoll_wait again) and
  // writes it back.
  void echo(int fd) {
    const ssize_t r = ::read(fd, buf_.data(), buf_.size());
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) return close_conn(fd);  // EOF or reset
    st_.received += u64(r);
    size_t done = 0;
    while (done < size_t(r)) {
      const ssize_t w = ::write(fd, buf_.data() + done, size_t(r) - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) break;
      if (w <= 0) return close_conn(fd);
      done += size_t(w);
      st_.sent += u64(w);
    }
    if (done == size_t(r)) return;
    conn& c = conns_[size_t(fd)];
    c.backlog.assign(buf_.data() + done, buf_.data() + r);
    c.off = 0;
    watch(fd, EPOLLOUT);
  }

  // Sends the backlog; reads resume once it is gone.
  void flush(int fd) {
    conn& c = conns_[size_t(fd)];
    while (c.off < c.backlog.size()) {
      const ssize_t w = ::write(fd, c.backlog.data() + c.off, c.backlog.size() - c.off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) return;
      if (w <= 0) return close_conn(fd);
      c.off += size_t(w);
      st_.sent += u64(w);
    }
    c.backlog.clear();
    c.off = 0;
    watch(fd, EPOLLIN);
  }

  void watch(int fd, unsigned events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) throw error(errno, "epoll_ctl(MOD) failed");
  }

  int lfd_;
  unsigned clients_;
  std::vector<unsigned char> buf_;
  std::vector<conn> conns_;  // by fd
  iouloop::unique_fd ep_;
  stats st_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned long port = 0, clients = 0;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--port")
        port = example::number("--port", example::value_of(argc, argv, i, "--port"));
      else if (a == "--clients")
        clients = example::number("--clients", example::value_of(argc, argv, i, "--clients"));
      else
        throw error(EINVAL, "unknown argument '" + a + "' (usage: epoll_echo --port P [--clients N])");
    }
    if (port == 0 || port > 65535) throw error(EINVAL, "--port 1 .. 65535 is needed");
    ::signal(SIGPIPE, SIG_IGN);
    echo_host::ensure_loopback();
    echo_host::listener lis(uint16_t(port), 0, 4096);
    ::fcntl(lis.fd(), F_SETFL, ::fcntl(lis.fd(), F_GETFL) | O_NONBLOCK);
    server s(lis.fd(), unsigned(clients));
    s.run();
    const stats& c = s.counts();
    std::printf("epoll_echo: accepted %llu, closed %llu; received %llu, sent %llu bytes\n", c.accepted, c.closed,
                c.received, c.sent);
    if (c.received != c.sent) throw error(EIO, "received and sent differ");
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "epoll_echo: %s\n", e.what());
    return 1;
  }
}
