// iouloop/engine/userspace.hpp — runs a policy's step in user space with the
// kernel loop's semantics (io_uring/loop.c), on any kernel with io_uring.
//
// One run() is one io_uring_enter on a ring with loop ops installed:
//   cq_wait_idx = 0
//   loop:
//     r = step()            STOP -> return 0; not CONTINUE -> return -EINVAL
//     nr_wait = (s32)(cq_wait_idx - cq.tail)
//     if nr_wait > 0: sleep until cq.tail reaches cq_wait_idx (a hint)
//     run task work, flush CQ overflow
//     a pending signal -> return -EINTR
// Signals are blocked while the loop runs and noticed once per iteration,
// which is when the kernel checks them; a sleep is interruptible as in the
// kernel. After -EINTR the ring and params are intact and run() resumes.
//
// Cost: no system call beyond the step's own submissions and the sleeps.
// Deferred task work is seen through IORING_SQ_TASKRUN in the ring's flags,
// and pending signals through a second, tiny ring that polls a signalfd:
// a signal wakes the poll, which sets IORING_SQ_TASKRUN on that ring — one
// memory load per iteration instead of a sigpending() call.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "iouloop/engine/error.hpp"
#include "iouloop/engine/param_region.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/policy.hpp"
#include "iouloop/sqe.hpp"

namespace iouloop {

namespace detail {
struct host_backend {
  int fd;
  IOULOOP_INLINE int submit_sqes(u32 n) const { return sys::io_uring_enter(fd, n, 0, 0, nullptr, 0); }
};

// Tells, with one memory load, whether a signal may have become pending.
class signal_watch {
 public:
  signal_watch() : ring_(watch_options()) {
    sigset_t none;
    sigemptyset(&none);
    fd_ = signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ < 0) throw error(errno, "signalfd failed (the userspace engine watches signals with it)");
  }
  signal_watch(const signal_watch&) = delete;
  signal_watch& operator=(const signal_watch&) = delete;
  ~signal_watch() { ::close(fd_); }

  // Watch the signals `old` (the caller's mask) lets through; arm the poll.
  void start(const sigset_t& old) {
    sigset_t watched;
    sigfillset(&watched);
    for (int s = 1; s < _NSIG; ++s)
      if (sigismember(&old, s) == 1) sigdelset(&watched, s);
    signalfd(fd_, &watched, 0);
    if (!armed_) arm();
  }

  bool maybe_pending() const { return (ring_.sq_flags() & abi::sq_flag::taskrun) != 0; }

  // Runs the watch ring's task work and reaps its CQEs; rearms the poll if
  // the kernel ended the multishot.
  void settle() {
    ring_.get_events(0);
    u32* head = reinterpret_cast<u32*>(ring_.rings() + ring_.layout().cq_head);
    const u32 tail = ring_.cq_tail();
    for (u32 h = *head; h != tail; ++h) {
      const auto* c = reinterpret_cast<const abi::cqe*>(ring_.rings() + ring_.layout().cq_cqes) +
                      (h & (ring_.layout().cq_entries - 1));
      if (!(c->flags & abi::cqe_flag::more)) armed_ = false;
    }
    detail::store_release(head, tail);
    if (!armed_) arm();
  }

 private:
  static ring_options watch_options() {
    ring_options o;
    o.sq_entries = 2;
    return o;
  }
  void arm() {
    sq_ring sq(ring_.rings(), ring_.sqes(), ring_.layout());
    abi::sqe* s = sq.next();
    detail::prep(*s, 6 /* IORING_OP_POLL_ADD */, fd_, 0, 1 /* IORING_POLL_ADD_MULTI */, 0, 0);
    s->op_flags = POLLIN;
    sys::io_uring_enter(ring_.fd(), sq.flush(), 0, 0, nullptr, 0);
    armed_ = true;
  }

  ring ring_;
  int fd_ = -1;
  bool armed_ = false;
};

// The signal numbers whose default action is to ignore them: pending and
// blocked they would not interrupt the kernel's loop.
inline bool ignored_by_default(int s) { return s == SIGCHLD || s == SIGURG || s == SIGWINCH || s == SIGCONT; }
}  // namespace detail

template <policy P>
class userspace_engine {
 public:
  using params_type = typename policy_traits<P>::params_type;
  static constexpr const char* name = "userspace";

  // Throws iouloop::error when the ring could not carry io_uring_bpf_ops
  // either: the engines accept exactly the same rings.
  userspace_engine(ring& r, param_region<P>& params) : ring_(r), params_(params) {
    std::string why = loop_flags_problem(r.flags());
    if (!why.empty()) throw error(EOPNOTSUPP, why);
    // Register the region where the kernel can (Linux 6.13+), so the ring
    // is in the state the BPF engine would leave it in (one region per ring);
    // elsewhere the policy simply gets the same memory.
    if (params.registered_with() != r.fd() && params.register_with(r) == -EBUSY)
      throw error(EBUSY, "the ring already has a param region (one per ring): use the param_region that "
                         "was registered first");
  }

  // Runs the loop until the step returns STOP (0), an invalid value
  // (-EINVAL) or a signal arrives (-EINTR).
  int run() {
    // What io_uring_enter on this fd would say first: -EBADF for a closed
    // fd, -EOPNOTSUPP for one that is not an io_uring.
    if (int e = sys::io_uring_enter(ring_.fd(), 0, 0, 0, nullptr, 0); e < 0) return e;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    signals_.start(old);
    const int ret = run_blocked(old);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);  // a pending signal is delivered here
    return ret;
  }

 private:
  int run_blocked(const sigset_t& old) {
    const ring_layout& L = ring_.layout();
    u8* const rings = ring_.rings();
    u32 cq_wait_idx = 0;  // iou_loop_params: zeroed per io_uring_enter
    detail::host_backend backend{ring_.fd()};
    const u64 params_uaddr = reinterpret_cast<u64>(params_.data());
    // io_uring_getevents_arg: sleep with the caller's signal mask, like the
    // kernel loop's interruptible wait.
    struct {
      u64 sigmask;
      u32 sigmask_sz;
      u32 min_wait_usec;
      u64 ts;
    } wait_arg{reinterpret_cast<u64>(&old), _NSIG / 8, 0, 0};

    for (;;) {
      loop<detail::host_backend, params_type> l(backend, rings, ring_.sqes(), *params_, params_uaddr, L,
                                                &cq_wait_idx);
      const int r = P::step(l);
      if (r == loop_stop) return 0;
      if (r != loop_continue) return -EINVAL;

      const u32 tail = detail::load_acquire(reinterpret_cast<u32*>(rings + L.cq_tail));
      const s32 nr_wait = static_cast<s32>(cq_wait_idx - tail);
      if (nr_wait > 0) {
        // The kernel counts min_complete from the consumed head: ask for
        // exactly enough CQEs to bring the tail to cq_wait_idx.
        const u32 head = *reinterpret_cast<u32*>(rings + L.cq_head);
        const int e = sys::io_uring_enter(ring_.fd(), 0, cq_wait_idx - head,
                                          abi::enter::getevents | abi::enter::ext_arg, &wait_arg,
                                          sizeof wait_arg);
        if (e == -EINTR) return -EINTR;
        // A wake-up is a hint (-ETIME, -EAGAIN, -EBUSY: look again); a dead
        // ring is not.
        if (e == -EBADF || e == -EOPNOTSUPP || e == -EEXIST || e == -EFAULT) return e;
      } else if (detail::load_acquire(reinterpret_cast<u32*>(rings + L.sq_flags)) &
                 (abi::sq_flag::taskrun | abi::sq_flag::cq_overflow)) {
        // Deferred completions or overflowed CQEs wait in the kernel: post them.
        ring_.get_events(0);
      }
      if (signals_.maybe_pending() && signal_pending(old)) return -EINTR;
    }
  }

  // The slow path, taken only when the watch ring saw a signal arrive.
  bool signal_pending(const sigset_t& old) {
    signals_.settle();
    sigset_t pending;
    if (sigpending(&pending) != 0) return false;
    bool interrupt = false;
    for (int s = 1; s < _NSIG; ++s) {
      if (sigismember(&pending, s) != 1 || sigismember(&old, s) == 1) continue;
      struct sigaction sa {};
      sigaction(s, nullptr, &sa);
      const bool ignored = sa.sa_handler == SIG_IGN || (sa.sa_handler == SIG_DFL && detail::ignored_by_default(s));
      if (ignored) {
        // Discard it, as the kernel would have at generation.
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, s);
        struct timespec zero {};
        sigtimedwait(&one, nullptr, &zero);
      } else {
        interrupt = true;
      }
    }
    return interrupt;
  }

  ring& ring_;
  param_region<P>& params_;
  detail::signal_watch signals_;
};

}  // namespace iouloop
