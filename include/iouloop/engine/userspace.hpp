// iouloop/engine/userspace.hpp — runs a policy's step in user space with the
// kernel loop's semantics, on any kernel with io_uring.
//
// The specification is the kernel's own loop, io_uring/loop.c in Linux 7.2
// (docs/semantics.md has the rule-by-rule table). One run() is one
// io_uring_enter on a ring with loop ops installed:
//   io_uring_enter: closed fd -EBADF, not an io_uring -EOPNOTSUPP, ring still
//     R_DISABLED -EBADFD
//   io_run_loop: not the ring's submitter task (SINGLE_ISSUER) -EEXIST
//   __io_run_loop, cq_wait_idx = 0, then each iteration:
//     ops removed (detach()) -> -EFAULT
//     r = step()            STOP -> return 0; not CONTINUE -> return -EINVAL
//     nr_wait = (s32)(cq_wait_idx - cq.tail)
//     if nr_wait > 0: sleep (interruptibly) until the tail reaches cq_wait_idx
//     a pending, not ignored signal -> return -EINTR (before local work)
//     run deferred task work, flush CQ overflow
// Signals are blocked while the loop runs and noticed once per iteration,
// which is when the kernel checks them; a sleep is interruptible by the
// signals the caller's mask lets through, except those whose action is to
// ignore them (the kernel discards those at generation, so they never end
// its loop). After -EINTR the ring and params are intact and run() resumes.
//
// Cost: on rings with IORING_SETUP_TASKRUN_FLAG (the ring_options default)
// no system call beyond the step's own submissions and the sleeps (a step
// that ends in refill<>, wait_for<> makes its last submit in the call that
// sleeps, once a submit alone has left its wait unmet: run_blocked): deferred
// task work is seen through IORING_SQ_TASKRUN in the ring's flags, pending
// signals through a second, tiny ring that polls a signalfd (a signal wakes
// the poll, which sets IORING_SQ_TASKRUN on that ring and posts a CQE if the
// signal is this thread's: two memory loads per iteration instead of a
// sigpending() call; see signal_watch). Without TASKRUN_FLAG the engine
// cannot see pending task work and runs it with one io_uring_enter per step
// that does not sleep, as the kernel's loop runs it every iteration. Each
// run() adds three system calls at its start (the fd and submitter checks),
// one at each end to register the ring for the thread and drop it again (the
// loop's io_uring_enter calls then skip the fd look-up: thread_ring), and
// one sigaction() per signal number (which ones are ignored right now).
// Like the kernel's loop, which holds the ring's file for its one
// io_uring_enter, a run goes on if the ring's fd is closed meanwhile (on a
// kernel that refuses the registration, its next system call says -EBADF).
//
// Chaos mode (iouloop::chaos, or IOULOOP_CHAOS_SEED=N in the environment)
// does what the kernel is allowed to do and this engine otherwise does not:
// a step that asked to sleep runs again at once with nothing new, or after
// only part of what it waited for, and pending task work is sometimes left
// for a later iteration. Seeded and reproducible; the seed is printed.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "iouloop/engine/error.hpp"
#include "iouloop/engine/param_region.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/policy.hpp"
#include "iouloop/sqe.hpp"

namespace iouloop {

// What the kernel may do that the userspace engine does not do by itself:
// wake the loop early (non-lazy task work: timeouts, io-wq completions,
// links), run a step with nothing new, show part of what a step waited for.
// Off by default; on, every decision comes from `seed`.
struct chaos {
  bool on = false;
  u64 seed = 0;
  u32 spurious_percent = 20;  // a sleep that ends at once, before anything new arrives
  u32 early_percent = 30;     // a sleep that ends after part of what it waited for
  u32 defer_percent = 20;     // pending task work left for a later iteration
  bool per_engine = false;    // mix the engine's creation order into its stream

  static chaos off() { return {}; }
  static chaos with_seed(u64 seed) {
    chaos c;
    c.on = true;
    c.seed = seed;
    return c;
  }
  // IOULOOP_CHAOS_SEED=N turns chaos on for every userspace engine built
  // with the default argument; the seed is printed once per process.
  static chaos from_env() {
    static const chaos c = [] {
      const char* v = std::getenv("IOULOOP_CHAOS_SEED");
      if (!v || !*v) return off();
      chaos on = with_seed(std::strtoull(v, nullptr, 10));
      on.per_engine = true;  // engines of one process do not all roll the same dice
      std::fprintf(stderr, "iouloop: userspace engine in chaos mode, seed %llu (replay: IOULOOP_CHAOS_SEED=%llu)\n",
                   static_cast<unsigned long long>(on.seed), static_cast<unsigned long long>(on.seed));
      return on;
    }();
    return c;
  }
};

namespace detail {
// splitmix64: one stream per engine, derived from the chaos seed and the
// engine's creation order, so a replay with the same seed repeats it.
class chaos_dice {
 public:
  explicit chaos_dice(const chaos& c)
      : c_(c), s_(c.seed * 0x9E3779B97F4A7C15ull + (c.on && c.per_engine ? next_instance() : 0)) {}
  bool on() const { return c_.on; }
  bool spurious() { return c_.on && below(100) < c_.spurious_percent; }
  bool early() { return c_.on && below(100) < c_.early_percent; }
  bool defer() { return c_.on && below(100) < c_.defer_percent; }
  u32 below(u32 n) { return static_cast<u32>(next() % n); }

 private:
  static u64 next_instance() {
    static std::atomic<u64> n{0};
    return n.fetch_add(1, std::memory_order_relaxed);
  }
  u64 next() {
    u64 z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  chaos c_;
  u64 s_;
};

// The ring as the loop's io_uring_enter calls name it: an index registered
// for the calling thread (IORING_REGISTER_RING_FDS, Linux 5.18+), so that no
// call looks the fd up (fget and fput: about 50 guest instructions a call,
// docs/cost.md, "The userspace engine's system calls"), or the fd itself
// where the kernel refuses (an older kernel, or the thread's 16 slots all
// taken). Made per run(), in the thread that runs, and dropped when the run
// ends: the index is the thread's alone (current->io_uring), and it holds a
// reference to the ring's file, which must not outlive the run.
class thread_ring {
 public:
  explicit thread_ring(int fd) : plain_(fd), fd_(fd) {
    abi::rsrc_update u{~0u, 0, static_cast<u64>(static_cast<u32>(fd))};
    if (sys::io_uring_register(fd, abi::register_ring_fds, &u, 1) == 1) {
      fd_ = static_cast<int>(u.offset);
      flags_ = abi::enter::registered_ring;
    }
  }
  ~thread_ring() {
    if (!flags_) return;
    // By the index (IORING_REGISTER_USE_REGISTERED_RING, Linux 6.3+): the fd
    // may have been closed during the run; on older kernels, by the fd, as
    // registered.
    abi::rsrc_update u{static_cast<u32>(fd_), 0, 0};
    if (sys::io_uring_register(fd_, abi::unregister_ring_fds | abi::register_use_registered_ring, &u, 1) != 1)
      sys::io_uring_register(plain_, abi::unregister_ring_fds, &u, 1);
  }
  thread_ring(const thread_ring&) = delete;
  thread_ring& operator=(const thread_ring&) = delete;

  IOULOOP_INLINE int enter(u32 to_submit, u32 min_complete, u32 flags, const void* arg, usize argsz) const {
    return sys::io_uring_enter(fd_, to_submit, min_complete, flags | flags_, arg, argsz);
  }

 private:
  int plain_;  // the fd
  int fd_;     // what io_uring_enter gets: the index, or the fd
  u32 flags_ = 0;
};

struct host_backend {
  const thread_ring& ring;
  u32 at_end = 0;  // SQEs the step left for the engine's next io_uring_enter
  IOULOOP_INLINE int submit_sqes(u32 n) const { return ring.enter(n, 0, 0, nullptr, 0); }
  IOULOOP_INLINE void submit_at_end(u32 n) { at_end = n; }
};

// Tells, with two memory loads, whether a signal may have become pending for
// the calling thread, and whether one was pending at some moment since the
// last look (so that a signal whose handler has run since is still seen).
//
// A multishot poll on a signalfd, on a second tiny ring. Every signal
// generated in the process wakes every signalfd poller (the wait queue is the
// thread group's), but the poll's task work runs in the thread that armed it
// and asks signalfd_poll() about that thread's own pending signals (and the
// process's shared ones): a CQE means one of the watched signals was pending
// for this thread. The ring has no DEFER_TASKRUN, so that task work runs on
// the thread's next way out of the kernel, before get_signal() dequeues the
// signal and runs its handler: the CQE is there even when the handler ran
// during a sleep. A signal for another thread (pthread_kill, tgkill, or a
// signalfd mask change, which wakes the pollers too) runs the task work and
// posts nothing.
class signal_watch {
 public:
  signal_watch() {
    if (int e = open(); e < 0) throw error(-e, what_failed_);
  }
  signal_watch(const signal_watch&) = delete;
  signal_watch& operator=(const signal_watch&) = delete;
  ~signal_watch() { close(); }

  // Watch the signals `old` (the caller's mask) lets through, from the
  // calling thread. Returns 0 or -errno.
  // Signals are all blocked when this runs; one that was generated since
  // they were blocked is still pending and makes maybe_pending() true.
  int start(const sigset_t& old) {
    // The poll answers for the thread that armed it: a run from another
    // thread than the last one needs a watch of its own.
    if (tid_ != gettid()) {
      close();
      if (int e = open(); e < 0) return e;
    }
    sigset_t watched;
    sigfillset(&watched);
    for (int s = 1; s < _NSIG; ++s)
      if (sigismember(&old, s) == 1) sigdelset(&watched, s);
    if (!has_mask_ || !same_set(watched, mask_)) {
      if (signalfd(fd_, &watched, 0) < 0) return -errno;
      mask_ = watched;
      has_mask_ = true;
    }
    if (!armed_) {
      if (int e = arm(); e < 0) return e;
    }
    // What the watch saw before this run (a handler that ran between runs)
    // is not this run's; a signal pending now is, and the first iteration
    // must look.
    (void)settle();
    seen_ = false;
    sigset_t pending;
    if (sigpending(&pending) == 0)
      for (int s = 1; s < _NSIG; ++s)
        if (sigismember(&pending, s) == 1 && sigismember(&watched, s) == 1) seen_ = true;
    return 0;
  }

  // True when a signal may have been pending for this thread since the last
  // look: the poll's task work waits, or it posted a CQE, or one was seen. If
  // the watch ring ever fails, it always says true (each iteration then asks
  // sigpending(): slower; a handler that ran during a sleep goes unseen).
  bool maybe_pending() const {
    return broken_ || seen_ || (detail::load_acquire(flags_) & abi::sq_flag::taskrun) != 0 ||
           detail::load_acquire(cq_tail_) != cq_head_seen_;
  }

  // Runs the watch ring's task work and reaps its CQEs; rearms the poll if
  // the kernel ended the multishot. Returns 0 or -errno (and the watch is
  // then marked broken, see maybe_pending()).
  int settle() {
    int e = ring_->get_events(0);
    if (e < 0 && e != -EINTR && e != -EAGAIN && e != -EBUSY) return fail(e);
    cq_ring cq(ring_->rings(), ring_->layout());
    while (cq.ready() != 0)
      for (cqe_view c : cq.batch<4>()) {
        if (c.res() > 0) seen_ = true;
        if (!c.more()) armed_ = false;
      }
    cq_head_seen_ = ring_->cq_head();
    if (!armed_)
      if ((e = arm()) < 0) return fail(e);
    return 0;
  }

  // Whether a watched signal was pending for this thread at some moment
  // since the last call (or since start()); settle() first.
  bool take_seen() {
    const bool s = seen_;
    seen_ = false;
    return s;
  }

 private:
  // COOP_TASKRUN (no DEFER_TASKRUN): the poll's task work runs on any way out
  // of the kernel, before signal delivery; TASKRUN_FLAG shows it pending.
  static ring_options watch_options() {
    ring_options o;
    o.sq_entries = 2;
    o.flags = abi::setup::coop_taskrun | abi::setup::taskrun_flag;
    return o;
  }
  int open() {
    what_failed_ = "signalfd failed (the userspace engine watches signals with it)";
    sigset_t none;
    sigemptyset(&none);
    fd_ = signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ < 0) return -errno;
    try {
      ring_.emplace(watch_options());
    } catch (const error& e) {
      what_failed_ = "the signal watch's ring could not be made (io_uring_setup)";
      ::close(fd_);
      fd_ = -1;
      return -(e.code() ? e.code() : EINVAL);
    }
    // maybe_pending() reads these two words of the watch ring each iteration
    flags_ = detail::at<u32>(ring_->rings(), ring_->layout().sq_flags);
    cq_tail_ = detail::at<u32>(ring_->rings(), ring_->layout().cq_tail);
    cq_head_seen_ = ring_->cq_head();
    what_failed_ = "arming the signal watch failed (a multishot poll on a signalfd, Linux 5.13+)";
    if (int e = arm(); e < 0) {
      close();
      return e;
    }
    tid_ = gettid();
    broken_ = false;
    has_mask_ = false;
    return 0;
  }
  void close() {
    ring_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    armed_ = false;
    tid_ = -1;
  }
  int fail(int e) {
    broken_ = true;
    return e;
  }
  // A multishot poll for POLLIN on the signalfd.
  int arm() {
    sq_ring sq(ring_->rings(), ring_->sqes(), ring_->layout());
    abi::sqe* s = sq.next();
    if (!s) return -EBUSY;
    prep_poll_add(*s, fd_, abi::poll::in, true, udata{});
    const int r = sys::io_uring_enter(ring_->fd(), sq.flush(), 0, 0, nullptr, 0);
    if (r < 0) return r;
    armed_ = true;
    return 0;
  }

  static bool same_set(const sigset_t& a, const sigset_t& b) {
    for (int s = 1; s < _NSIG; ++s)
      if (sigismember(&a, s) != sigismember(&b, s)) return false;
    return true;
  }

  std::optional<ring> ring_;
  const u32* flags_ = nullptr;    // the watch ring's sq flags
  const u32* cq_tail_ = nullptr;  // the watch ring's CQ tail
  u32 cq_head_seen_ = 0;          // the CQ head after the last settle()
  int fd_ = -1;
  pid_t tid_ = -1;
  bool armed_ = false;
  bool broken_ = false;
  bool has_mask_ = false;
  bool seen_ = false;
  const char* what_failed_ = "";
  sigset_t mask_{};
};

// The signal numbers whose default action is to ignore them (the kernel's
// sig_kernel_ignore): unblocked, they are discarded at generation and never
// interrupt the kernel's loop.
inline bool ignored_by_default(int s) { return s == SIGCHLD || s == SIGURG || s == SIGWINCH || s == SIGCONT; }

inline bool ignored_now(int s) {
  struct sigaction sa{};
  if (sigaction(s, nullptr, &sa) != 0) return false;
  if (sa.sa_flags & SA_SIGINFO) return false;  // a handler
  return sa.sa_handler == SIG_IGN || (sa.sa_handler == SIG_DFL && ignored_by_default(s));
}
}  // namespace detail

template <policy P>
class userspace_engine {
 public:
  using params_type = typename policy_traits<P>::params_type;
  static constexpr const char* name = "userspace";

  // Throws iouloop::error when the ring could not carry io_uring_bpf_ops
  // either: the engines accept exactly the same rings. `c` turns chaos mode
  // on (by default: from IOULOOP_CHAOS_SEED).
  userspace_engine(ring& r, param_region<P>& params, const chaos& c = chaos::from_env())
      : ring_(r), params_(params), dice_(c) {
    std::string why = loop_flags_problem(r.flags());
    if (!why.empty()) throw error(EOPNOTSUPP, why);
    // Register the region where the kernel can (Linux 6.13+), so the ring
    // is in the state the BPF engine would leave it in (one region per ring);
    // elsewhere the policy simply gets the same memory.
    params.ensure_registered(r, false);
  }

  // Runs the loop until the step returns STOP (0), an invalid value
  // (-EINVAL) or a signal arrives (-EINTR); -EBADF, -EOPNOTSUPP, -EBADFD,
  // -EEXIST and -EFAULT as io_uring_enter says them (see the file banner).
  int run() {
    // What io_uring_enter on this fd says first: -EBADF for a closed fd,
    // -EOPNOTSUPP for one that is not an io_uring, -EBADFD for a ring still
    // R_DISABLED (io_uring_enter's checks, in that order).
    if (int e = sys::io_uring_enter(ring_.fd(), 0, 0, 0, nullptr, 0); e < 0) return e;
    // io_run_loop: only the ring's submitter task may run its task work
    // (io_allowed_run_tw), else -EEXIST before any step. Registration makes
    // the same check (__io_uring_register) without running task work; a
    // probe of zero opcodes changes nothing.
    if (int e = submitter_check(); e == -EEXIST) return e;
    if (detached_.load(std::memory_order_acquire)) return -EFAULT;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    params_.begin_run();
    int ret = signals_.start(old);
    if (ret == 0) ret = run_blocked(old);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);  // a pending signal is delivered here
    return params_.end_run(ret);
  }

  // How the last run ended (iouloop::describe(engine.exit(), ret) in words).
  const exit_record& exit() const { return params_.exit(); }

  // Removes the loop ops from the ring, as destroying the BPF engine's link
  // does: a run in progress ends with -EFAULT at its next iteration
  // (__io_run_loop checks ctx->loop_step each time), later runs say -EFAULT
  // at once. Safe to call from any thread.
  void detach() { detached_.store(true, std::memory_order_release); }
  bool attached() const { return !detached_.load(std::memory_order_acquire); }

 private:
  int submitter_check() const {
    struct {
      u8 last_op, ops_len;
      u16 resv;
      u32 resv2[3];
    } probe{};
    return sys::io_uring_register(ring_.fd(), 8 /* IORING_REGISTER_PROBE */, &probe, 0);
  }

  // On a ring whose io_rings offsets are the kernel's usual ones (every
  // x86-64 kernel's: ring.hpp, io_rings), the step's views address the
  // heads, tails and CQEs at those offsets as constants (fixed_rings, as
  // the BPF step does), not at offsets loaded from the layout each step:
  // 27 user instructions fewer per step of the dependent NOP chain
  // (docs/cost.md, "The ring's offsets as constants"). Any other ring runs
  // the same loop with the layout's offsets; so does every ring in a
  // program built with IOULOOP_USERSPACE_LAYOUT_OFFSETS (the same in all
  // of its files), which //tests:semantics_userspace_layout_test is, so
  // that the rules are checked on that path too.
  int run_blocked(const sigset_t& old) {
    const ring_layout& L = ring_.layout();
#if !defined(IOULOOP_USERSPACE_LAYOUT_OFFSETS)
    if (rings_abi_matches(L)) return run_blocked_with(old, fixed_rings<const ring_layout>{L});
#endif
    return run_blocked_with(old, L);
  }

  template <class Layout>
  int run_blocked_with(const sigset_t& old, const Layout& L) {
    u8* const rings = ring_.rings();
    u32 cq_wait_idx = 0;  // iou_loop_params: zeroed per io_uring_enter
    const detail::thread_ring tr(ring_.fd());
    detail::host_backend backend{tr};
    const u64 params_uaddr = reinterpret_cast<u64>(params_.data());
    const bool taskrun_flag = (ring_.flags() & abi::setup::taskrun_flag) != 0;
    exit_record& exit = params_.exit();
    // The sleep lets through what the caller's mask lets through, except
    // signals whose action is to ignore them: the kernel drops those at
    // generation, so they never wake its loop; here they stay blocked
    // (queued) and are discarded below.
    sigset_t wait_mask = old;
    for (int s = 1; s < _NSIG; ++s)
      if (sigismember(&old, s) != 1 && detail::ignored_now(s)) sigaddset(&wait_mask, s);
    // io_uring_getevents_arg: sleep with that mask, like the kernel loop's
    // interruptible wait.
    abi::getevents_arg wait_arg{reinterpret_cast<u64>(&wait_mask), _NSIG / 8, 0, 0}, flush_arg = wait_arg;
    // The same mask, with a timeout that has already passed: run what task
    // work there is, never sleep.
    const abi::kernel_timespec zero{};
    flush_arg.ts = reinterpret_cast<u64>(&zero);
    // Steps in a row whose last submit went with the sleep (below).
    constexpr u32 probe_every = 64;
    u32 joined = 0;

    for (;;) {
      if (detached_.load(std::memory_order_relaxed)) return -EFAULT;
      loop<detail::host_backend, params_type> l(backend, rings, ring_.sqes(), *params_, params_uaddr, L, &cq_wait_idx,
                                                exit);
      const int r = detail::run_one_step<P>(l, exit);
      // The step's last submit, when the policy left it to the engine (it
      // ends in refill<>, wait_for<>: loop::submit_at_end): made below with
      // the sleep, in one io_uring_enter, as liburing's
      // io_uring_submit_and_wait does. The kernel's loop submits inside the
      // step; nothing in the step runs after this one, and the sleep counts
      // from the CQ head, so the policy cannot tell. What io_uring_enter
      // does with both: io_submit_sqes, and only if every SQE was taken,
      // io_cqring_wait; a submit that fell short returns at once (the step
      // runs again, an early call), and the wait's -EINTR is not returned
      // when SQEs were submitted (the signal check below sees the signal).
      //
      // Not when the submit alone meets the wait: NOPs complete inside it,
      // and io_uring_enter with GETEVENTS and EXT_ARG costs about 210 guest
      // instructions more than a plain submit even when it finds the CQEs
      // there (docs/cost.md, "The submit with the sleep"). So the engine
      // submits alone, and joins the two from the next step on when that
      // left the wait unmet; every probe_every-th joined step submits alone
      // again to see whether the workload changed.
      u32 to_submit = backend.at_end;
      backend.at_end = 0;
      if (r != loop_continue) {
        if (to_submit) tr.enter(to_submit, 0, 0, nullptr, 0);
        return r == loop_stop ? 0 : -EINVAL;
      }
      const bool alone = to_submit != 0 && (joined == 0 || joined >= probe_every);
      if (alone) {
        tr.enter(to_submit, 0, 0, nullptr, 0);
        to_submit = 0;
      }

      const u32 tail = l.cq.tail();
      const s32 nr_wait = static_cast<s32>(cq_wait_idx - tail);
      if (alone)
        joined = nr_wait > 0 ? 1 : 0;
      else if (to_submit)
        ++joined;
      bool slept = false;
      if (nr_wait > 0 && !dice_.spurious()) {
        const u32 head = l.cq.head();
        int e = 0;
        bool ran = false;
        if (taskrun_flag && (ring_.sq_flags() & (abi::sq_flag::taskrun | abi::sq_flag::cq_overflow))) {
          // io_loop_wait does not sleep while local work is pending (or the
          // CQ overflowed); the iteration runs at least nr_wait and at most
          // max(20, nr_wait) items (io_run_local_work_locked) and the step
          // runs again, target reached or not. io_cqring_wait with
          // min_complete = nr_wait runs exactly that before it looks at the
          // CQ, and the zero timeout keeps it from sleeping.
          //
          // The flag is a hint: io_req_local_work_add (io_uring/tw.c) sets it
          // after publishing the work, so an owner that ran the work in
          // between is left with the flag and nothing pending. The kernel
          // looks at the list, not the flag; here, a pass that posted
          // nothing means there was nothing, and the loop sleeps as usual.
          e = tr.enter(to_submit, u32(nr_wait), abi::enter::getevents | abi::enter::ext_arg, &flush_arg,
                       sizeof flush_arg);
          // With SQEs submitted, an -EINTR is not returned: the watch says it.
          ran = e == -EINTR || l.cq.tail() != tail || (to_submit != 0 && signals_.maybe_pending());
          to_submit = 0;
        }
        if (!ran) {
          // io_loop_wait: sleep until the tail reaches cq_wait_idx (chaos:
          // only part of the way). min_complete counts from the consumed
          // head; the kernel arms the same wake-up countdown (nr_wait).
          u32 target = cq_wait_idx;
          if (nr_wait > 1 && dice_.early()) target = tail + 1 + dice_.below(u32(nr_wait) - 1);
          e = tr.enter(to_submit, target - head, abi::enter::getevents | abi::enter::ext_arg, &wait_arg,
                       sizeof wait_arg);
        }
        slept = true;
        if (e == -EINTR) return -EINTR;
        // A wake-up is a hint (-ETIME, -EAGAIN, -EBUSY, -EBADR: look
        // again); a dead ring is not.
        if (e == -EBADF || e == -EOPNOTSUPP || e == -EEXIST || e == -EFAULT) return e;
      } else if (to_submit) {
        tr.enter(to_submit, 0, 0, nullptr, 0);
      }
      // task_sigpending -> -EINTR, before the local work runs.
      if (signals_.maybe_pending() && signal_pending(old, slept)) return -EINTR;
      if (!slept) {
        // io_run_local_work_locked + the overflow flush: every iteration.
        // With TASKRUN_FLAG the ring says whether there is anything to do;
        // without it, ask the kernel each time (a system call per step).
        const bool work = !taskrun_flag || (ring_.sq_flags() & (abi::sq_flag::taskrun | abi::sq_flag::cq_overflow));
        if (work && !dice_.defer()) tr.enter(0, 0, abi::enter::getevents, nullptr, 0);
      }
    }
  }

  // The slow path, taken only when the watch ring may have seen a signal.
  // Discards pending signals whose action is to ignore them (the kernel
  // would not have queued them); true when a signal that is not ignored is
  // pending, or was delivered to its handler during the sleep (the kernel
  // runs the handler on return from a wait interrupted by a signal even
  // when CQEs arrived in the same wake-up, and then reports CQEs, not
  // -EINTR: the watch's CQE, posted before the handler ran, is how the
  // engine learns of it).
  bool signal_pending(const sigset_t& old, bool slept) {
    bool interrupt = false, any_at_first = false, seen = false;
    // Settle, look, and again while the watch fires meanwhile: a signal
    // generated during the look must not be taken for a new one later.
    for (int pass = 0; pass < 8; ++pass) {
      (void)signals_.settle();  // a failure leaves the watch broken: maybe_pending() stays true
      seen = signals_.take_seen() || seen;
      sigset_t pending;
      if (sigpending(&pending) != 0) break;
      bool any = false;
      for (int s = 1; s < _NSIG; ++s) {
        if (sigismember(&pending, s) != 1 || sigismember(&old, s) == 1) continue;
        any = true;
        if (detail::ignored_now(s)) {
          sigset_t one;
          sigemptyset(&one);
          sigaddset(&one, s);
          struct timespec zero{};
          sigtimedwait(&one, nullptr, &zero);
        } else {
          interrupt = true;
        }
      }
      if (pass == 0) any_at_first = any;
      if (!signals_.maybe_pending()) break;
    }
    // Pending for this thread, not pending any more, and only a sleep let
    // it through: its handler ran. (Known limits, docs/semantics.md: when an
    // ignored signal is pending too, this cannot be told apart; a signal
    // sent to the process that this thread saw pending and another thread
    // then took counts here too.)
    return interrupt || (slept && seen && !any_at_first);
  }

  ring& ring_;
  param_region<P>& params_;
  detail::chaos_dice dice_;
  std::atomic<bool> detached_{false};
  detail::signal_watch signals_;
};

}  // namespace iouloop
