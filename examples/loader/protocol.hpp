// The loader protocol, and the server's (unprivileged) side of it.
//
// A server that may not load BPF asks a privileged loader to attach one of
// the loader's compiled-in policies to the server's ring:
//
//   iouloop::ring ring;                                    // the server is its submitter
//   iouloop::param_region<nop::policy> params({.total = 1000, .depth = 32});
//   iouloop::attached_loop<nop::policy> loop(ring, params);   // registers the region, here
//   loader::session s("/run/iouloop-loader.sock", ring, params, "nop");   // throws with the loader's reason
//   int ret = loop.run();                                   // io_uring_enter: the kernel runs the step
//   s.detach();                                             // or let `s` go: closing the connection detaches
//
// Over a SOCK_SEQPACKET Unix socket: one `request`, one `reply`. The request
// names the ring by its fd number in the server: an io_uring fd cannot travel
// over SCM_RIGHTS (net/core/scm.c scm_fp_copy refuses io_uring files with
// -EINVAL), so the loader takes a copy with pidfd_getfd() through the pidfd
// the kernel gives for the connecting process (SO_PEERPIDFD). The loader
// keeps the attachment (its BPF link) for as long as the connection is open;
// the server gets no BPF object, only the answer. Host code: no libbpf here.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "iouloop/engine/error.hpp"
#include "iouloop/engine/param_region.hpp"
#include "iouloop/engine/ring.hpp"

namespace loader {
using iouloop::u32;
using iouloop::u64;

inline constexpr u32 magic = 0x696f756c;  // "ioul"
inline constexpr u32 version = 1;

struct request {
  u32 magic, version;
  char policy[48];  // a name from the loader's allow-list, NUL-terminated
  u32 sq_entries;   // the ring as io_uring_setup reported it
  u32 cq_entries;
  u32 setup_flags;
  u32 params_bytes;  // sizeof(params_type) of the server's policy
  u32 region_bytes;  // the registered param region's size
  int ring_fd;       // the ring's fd number in the server
  u64 params_uaddr;  // the region's address in the server (SQEs point into it)
};

struct reply {
  int status;  // 0: attached; else -errno
  char message[1020];
};

// Sends `rq`; -errno on failure.
inline int send_request(int sock, const request& rq) {
  ssize_t n = ::send(sock, &rq, sizeof rq, MSG_NOSIGNAL);
  return n == ssize_t(sizeof rq) ? 0 : (n < 0 ? -errno : -EPROTO);
}

// A connected SOCK_SEQPACKET socket to `path`, or throws.
inline int connect_to(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) throw iouloop::error(ENAMETOOLONG, "loader socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) throw iouloop::error(errno, "socket(AF_UNIX) failed");
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(s);
    throw iouloop::error(e, "cannot reach the iouloop loader at " + path +
                                ": is it running, and may this user "
                                "connect (socket permissions)?");
  }
  return s;
}

// The request describing `ring` and `params` for `policy`.
template <class P>
request describe(const iouloop::ring& ring, const iouloop::param_region<P>& params, const std::string& policy) {
  request rq{};
  rq.magic = magic;
  rq.version = version;
  std::strncpy(rq.policy, policy.c_str(), sizeof rq.policy - 1);
  rq.sq_entries = ring.layout().sq_entries;
  rq.cq_entries = ring.layout().cq_entries;
  rq.setup_flags = ring.flags();
  rq.params_bytes = sizeof(typename iouloop::param_region<P>::params_type);
  rq.region_bytes = iouloop::param_region<P>::bytes;
  rq.params_uaddr = reinterpret_cast<u64>(params.data());
  rq.ring_fd = ring.fd();
  return rq;
}

// One attachment made by the loader: alive while this object (its
// connection) is. Register the param region first (iouloop::attached_loop).
class session {
 public:
  template <class P>
  session(const std::string& socket_path, const iouloop::ring& ring, const iouloop::param_region<P>& params,
          const std::string& policy)
      : sock_(connect_to(socket_path)) {
    exchange(describe(ring, params, policy), policy);
  }
  // For tests: send a hand-made request.
  session(const std::string& socket_path, const request& rq) : sock_(connect_to(socket_path)) {
    exchange(rq, rq.policy);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session() { detach(); }

  // Closes the connection: the loader destroys the link, the ring's loop ops
  // go (a run in progress ends with -EFAULT when it next wakes).
  void detach() {
    if (sock_ >= 0) ::close(sock_);
    sock_ = -1;
  }

 private:
  void exchange(const request& rq, const std::string& policy) {
    int e = send_request(sock_, rq);
    reply rp{};
    ssize_t n = e == 0 ? ::recv(sock_, &rp, sizeof rp, 0) : -1;
    if (e == 0 && n < 0) e = -errno;
    if (e == 0 && n != ssize_t(sizeof rp)) e = -EPROTO;
    if (e < 0) {
      detach();
      throw iouloop::error(-e, "no answer from the iouloop loader for policy '" + policy + "'");
    }
    rp.message[sizeof rp.message - 1] = '\0';
    if (rp.status != 0) {
      detach();
      throw iouloop::error(-rp.status, std::string("the loader refused policy '") + policy + "': " + rp.message);
    }
  }
  int sock_ = -1;
};

}  // namespace loader
