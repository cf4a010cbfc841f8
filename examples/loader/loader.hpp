// The privileged half of privilege separation: attaches policies compiled into
// this program to rings that unprivileged servers send over a Unix socket.
//
//   loader::service svc({loader::allow<nop::policy>("nop", nop_bpf::image())});
//   svc.serve(listen_fd);              // until stop() or a signal
//
// How the loader gets the ring: the server names its fd number; the loader
// copies that fd out of the connecting process with pidfd_getfd() on the
// pidfd SO_PEERPIDFD gives (the process that called connect(), not one the
// request names). An io_uring fd cannot be sent with SCM_RIGHTS
// (net/core/scm.c scm_fp_copy: -EINVAL). pidfd_getfd needs
// PTRACE_MODE_ATTACH_REALCREDS over the server (kernel/pid.c __pidfd_fget):
// for a server of another uid, CAP_SYS_PTRACE (and Yama ptrace_scope <= 2).
// The loader needs the fd in its own table because the kernel looks ring_fd
// up there when it attaches (io_uring/bpf-ops.c bpf_io_reg).
//
// What a request must pass, in order (each refusal is named in the reply):
//  1. the message: magic, version, a NUL-terminated policy name;
//  2. the policy: a name on the allow-list; the server's params and region
//     sizes equal those the loader's policy was built with (the server cannot
//     choose code: only names, and only these);
//  3. the fd: a copy of the server's fd (pidfd_getfd); an io_uring
//     (/proc/self/fd/N is anon_inode:[io_uring]); its SQ and CQ sizes as
//     fdinfo shows them equal the claimed ones; no SQPOLL thread (fdinfo
//     SqThread -1);
//  4. the claimed setup flags: ones iouloop's loop accepts
//     (iouloop::loop_flags_problem), and a ring made here with them has the
//     layout the program is configured with (a twin ring: this process's
//     own io_uring_setup says the offsets and region sizes);
//  5. the ring, through the fd: io_uring_enter(GETEVENTS, 0) from here says
//     -EEXIST, which it does only on a DEFER_TASKRUN ring whose submitter is
//     another task (io_uring/wait.c io_cqring_wait -> io_allowed_run_tw), or
//     on a ring whose loop ops are installed (then the attach says -EBUSY);
//     -EBADFD is a ring still R_DISABLED;
//  6. the kernel: the program loads (the verifier bounds every ring and
//     param access by the configured sizes) and attaches (bpf_io_reg:
//     -EOPNOTSUPP without DEFER_TASKRUN or with SQPOLL/IOPOLL, -EBUSY if the
//     ring has loop ops).
// What the fd cannot show (NO_SQARRAY, SQ_REWIND, SQE128/CQE32 sizes, the
// param region's registration) can only mislead the server's own loop: the
// kernel hands the step a region only if it is at least the configured size
// (bpf_io_uring_get_region returns NULL, the step ends the run with -EINVAL),
// and every SQE runs with the server's credentials in the server's task.
//
// After the attach the loader closes its copy of the ring fd (the ring lives
// as long as the server holds it; freeing it ejects the ops,
// io_unregister_bpf_ops) and keeps the BPF object and link until the
// connection closes. The server receives a status and a message, no fd.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "examples/loader/protocol.hpp"
#include "iouloop/engine/bpf.hpp"

namespace loader {
using iouloop::usize;

// One policy the loader may attach: its name for servers, the object holding
// it, its program name there, and the sizes it was built with.
struct allowed_policy {
  std::string name;
  iouloop::bpf_image image;
  std::string program;
  u32 params_bytes, region_bytes;
};
template <class P>
allowed_policy allow(const std::string& name, const iouloop::bpf_image& image, const std::string& program = {}) {
  return {name, image, program.empty() ? name : program, u32(sizeof(typename iouloop::policy_traits<P>::params_type)),
          u32(iouloop::policy_traits<P>::region_bytes)};
}

// A refusal: errno and the reason sent back.
struct refusal {
  int code;
  std::string why;
};

namespace detail {
// "Key:\tvalue" from /proc/self/fdinfo/<fd>, or -1 when absent.
inline long long fdinfo_value(int fd, const char* key) {
  std::ifstream f("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line, k = std::string(key) + ":";
  while (std::getline(f, line)) {
    if (line.compare(0, k.size(), k) != 0) continue;
    return std::strtoll(line.c_str() + k.size(), nullptr, 0);
  }
  return -1;
}
inline std::string fd_target(int fd) {
  char buf[256];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, usize(n));
}
using iouloop::usize;
}  // namespace detail

// The checks and the attach, without the socket.
class attacher {
 public:
  explicit attacher(std::vector<allowed_policy> allowed) : allowed_(std::move(allowed)) {}

  struct attachment {
    std::unique_ptr<iouloop::bpf_object> object;
    std::unique_ptr<iouloop::bpf_attachment> link;
  };

  // Verifies `rq` and `ring_fd` (this process's number for the server's
  // ring) and attaches; throws refusal. Does not close ring_fd.
  attachment attach(const request& rq, int ring_fd) const {
    using namespace iouloop;
    if (rq.magic != magic || rq.version != version)
      throw refusal{EPROTO, "not an iouloop loader request (magic/version " + std::to_string(rq.magic) + "/" +
                                std::to_string(rq.version) + ")"};
    if (std::memchr(rq.policy, 0, sizeof rq.policy) == nullptr)
      throw refusal{EINVAL, "the policy name is not NUL-terminated"};
    const std::string name = rq.policy;
    const allowed_policy* a = find(name);
    if (!a) throw refusal{ENOENT, "unknown policy '" + name + "': this loader attaches only " + names()};
    if (rq.params_bytes != a->params_bytes || rq.region_bytes != a->region_bytes)
      throw refusal{EINVAL, "policy '" + name + "' here has " + std::to_string(a->params_bytes) + "-byte params in a " +
                                std::to_string(a->region_bytes) + "-byte region, the request says " +
                                std::to_string(rq.params_bytes) + " in " + std::to_string(rq.region_bytes) +
                                ": the server was built from another version of the policy"};
    if (rq.params_uaddr == 0 || rq.params_uaddr % 4096 != 0 || rq.params_uaddr >= (u64(1) << 56))
      throw refusal{EINVAL, "the param region address is not a page-aligned user address"};
    if (detail::fd_target(ring_fd) != "anon_inode:[io_uring]")
      throw refusal{EBADF, "the fd sent is not an io_uring (it is " + detail::fd_target(ring_fd) + ")"};
    const long long sq_mask = detail::fdinfo_value(ring_fd, "SqMask"),
                    cq_mask = detail::fdinfo_value(ring_fd, "CqMask");
    if (sq_mask + 1 != rq.sq_entries || cq_mask + 1 != rq.cq_entries)
      throw refusal{EINVAL, "the ring has " + std::to_string(sq_mask + 1) + " SQ and " + std::to_string(cq_mask + 1) +
                                " CQ entries, the request says " + std::to_string(rq.sq_entries) + " and " +
                                std::to_string(rq.cq_entries)};
    if (detail::fdinfo_value(ring_fd, "SqThread") != -1)
      throw refusal{EOPNOTSUPP, "the ring has an SQPOLL thread: the loop does not support SQPOLL"};
    if (std::string why = loop_flags_problem(rq.setup_flags); !why.empty()) throw refusal{EOPNOTSUPP, why};
    // The layout, from a ring of the same shape made here.
    iouloop::ring_options o;
    o.sq_entries = rq.sq_entries;
    o.cq_entries = rq.cq_entries;
    o.flags = rq.setup_flags & ~(abi::setup::r_disabled | abi::setup::cqsize);
    std::unique_ptr<iouloop::ring> twin;
    try {
      twin = std::make_unique<iouloop::ring>(o);
    } catch (const error& e) {
      throw refusal{e.code(), std::string("no ring can have the claimed shape: ") + e.what()};
    }
    // Through the fd: a DEFER_TASKRUN ring whose submitter is another task.
    int r = sys::io_uring_enter(ring_fd, 0, 0, abi::enter::getevents, nullptr, 0);
    if (r == -EBADFD) throw refusal{EBADFD, "the ring is still disabled (IORING_SETUP_R_DISABLED): enable it first"};
    if (r != -EEXIST)
      throw refusal{EOPNOTSUPP,
                    "the ring is not a DEFER_TASKRUN ring owned by another task (io_uring_enter from "
                    "the loader said " +
                        std::to_string(r) +
                        ", not -EEXIST): the request's flags "
                        "are not the ring's"};
    attachment at;
    try {
      at.object = std::make_unique<iouloop::bpf_object>(a->image, a->program, &twin->layout());
      iouloop_policy_meta m = at.object->meta();
      if (m.params_bytes != a->params_bytes || m.region_bytes != a->region_bytes)
        throw refusal{EINVAL, "the loader's object for '" + name + "' does not match its policy (build error)"};
      at.object->configure(twin->layout(), ring_fd, rq.params_uaddr);
      at.object->load();
      at.link = std::make_unique<iouloop::bpf_attachment>(at.object->struct_ops_map(), at.object->program_name());
    } catch (const error& e) {
      throw refusal{e.code() ? e.code() : EINVAL, e.what()};
    }
    return at;
  }

  std::string names() const {
    std::string s;
    for (const auto& a : allowed_) s += (s.empty() ? "" : ", ") + a.name;
    return s.empty() ? "nothing" : s;
  }

 private:
  const allowed_policy* find(const std::string& name) const {
    for (const auto& a : allowed_)
      if (a.name == name) return &a;
    return nullptr;
  }
  std::vector<allowed_policy> allowed_;
};

// The socket side: one attachment per connection, kept until it closes.
class service {
 public:
  explicit service(std::vector<allowed_policy> allowed, bool verbose = false)
      : attacher_(std::move(allowed)), verbose_(verbose) {}

  // A listening SOCK_SEQPACKET socket at `path` that `mode` lets connect.
  static int listen_at(const std::string& path, mode_t mode = 0666) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw iouloop::error(ENAMETOOLONG, "socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());
    int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) throw iouloop::error(errno, "socket(AF_UNIX) failed");
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::chmod(path.c_str(), mode) != 0 ||
        ::listen(s, 16) != 0) {
      int e = errno;
      ::close(s);
      throw iouloop::error(e, "cannot listen at " + path);
    }
    return s;
  }

  // Serves until `sessions` connections have come and gone (0: forever), or
  // poll fails (a signal: -EINTR). Returns 0 or -errno.
  int serve(int listen_fd, unsigned sessions = 0, int idle_timeout_ms = -1) {
    unsigned done = 0;
    while (sessions == 0 || done < sessions) {
      std::vector<pollfd> fds{{listen_fd, POLLIN, 0}};
      for (auto& [fd, at] : open_) fds.push_back({fd, POLLIN, 0});
      int n = ::poll(fds.data(), fds.size(), idle_timeout_ms);
      if (n < 0) return -errno;
      if (n == 0) return -ETIMEDOUT;
      for (usize i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        char b;
        ssize_t r = ::recv(fds[i].fd, &b, 1, MSG_DONTWAIT);
        if (r > 0 || (r < 0 && errno == EAGAIN)) continue;  // nothing else is expected; ignore it
        open_.erase(fds[i].fd);                             // detaches: the link goes with the attachment
        ::close(fds[i].fd);
        done++;
        if (verbose_) std::fprintf(stderr, "loader: session closed, loop ops detached\n");
      }
      if (fds[0].revents & POLLIN) {
        int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0 && !handle(c)) {
          ::close(c);
          done++;
        }
      }
    }
    return 0;
  }
  usize open_sessions() const { return open_.size(); }

 private:
  // Reads one request, answers it; true if an attachment now lives on `c`.
  bool handle(int c) {
    request rq{};
    pollfd p{c, POLLIN, 0};
    ssize_t n = ::poll(&p, 1, 5000) == 1 ? ::recv(c, &rq, sizeof rq, 0) : -1;
    reply rp{};
    attacher::attachment at;
    int ring = -1;
    try {
      if (n != ssize_t(sizeof rq)) throw refusal{EPROTO, "malformed request (" + std::to_string(n) + " bytes)"};
      ring = take_fd(c, rq.ring_fd);
      at = attacher_.attach(rq, ring);
      rp.status = 0;
      std::snprintf(rp.message, sizeof rp.message, "attached '%s'", rq.policy);
    } catch (const refusal& r) {
      rp.status = -r.code;
      std::snprintf(rp.message, sizeof rp.message, "%s", r.why.c_str());
    }
    if (ring >= 0) ::close(ring);  // the attachment does not need the ring fd any more
    if (verbose_) std::fprintf(stderr, "loader: %s\n", rp.message);
    ::send(c, &rp, sizeof rp, MSG_NOSIGNAL);
    if (rp.status != 0) return false;
    open_.emplace(c, std::move(at));
    return true;
  }

  // A copy of fd `fd` of the process at the other end of `c`.
  static int take_fd(int c, int fd) {
    constexpr int so_peerpidfd = 77;  // Linux 6.5+
    if (fd < 0) throw refusal{EBADF, "the request names no ring fd"};
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    if (::getsockopt(c, SOL_SOCKET, so_peerpidfd, &pidfd, &len) != 0) {
      int e = errno;
      throw refusal{e, "the kernel gives no pidfd for the connecting process (SO_PEERPIDFD, Linux 6.5+)"};
    }
    long r = ::syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    int e = errno;
    ::close(pidfd);
    if (r >= 0) return int(r);
    if (e == EPERM)
      throw refusal{EPERM, "the loader may not take fd " + std::to_string(fd) +
                               " from the server: pidfd_getfd "
                               "needs PTRACE_MODE_ATTACH_REALCREDS over it (kernel/pid.c __pidfd_fget): give the "
                               "loader CAP_SYS_PTRACE (and keep kernel.yama.ptrace_scope below 3)"};
    if (e == EBADF) throw refusal{EBADF, "the server has no fd " + std::to_string(fd)};
    throw refusal{e, "pidfd_getfd of the server's fd " + std::to_string(fd) + " failed"};
  }

  attacher attacher_;
  bool verbose_;
  std::map<int, attacher::attachment> open_;
};

}  // namespace loader
