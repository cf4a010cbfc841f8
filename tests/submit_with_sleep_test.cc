// The userspace engine makes a step's last submit in the io_uring_enter that
// sleeps, as liburing's io_uring_submit_and_wait does, when the policy is a
// sequence<> that ends in refill<P>, wait_for<N> and nothing can tell:
// sequence::step_submit_at_end, loop::submit_at_end, detail::run_one_step,
// and the engine's loop in iouloop/engine/userspace.hpp.
//
// The kernel's rules for that one call (io_uring/io_uring.c,
// SYSCALL_DEFINE6(io_uring_enter)): io_submit_sqes first; only if it took
// every SQE, io_cqring_wait, whose min_complete counts from the CQ head; if
// SQEs were submitted, their count is returned, not the wait's -EINTR.
// The kernel's loop (io_uring/loop.c __io_run_loop) submits inside the step
// and then sleeps until cq_wait_idx: the same, since the step does nothing
// after that submit and wait_for<N> counts from the CQ head too.
//
// What the cases count is every io_uring_enter the test makes: this binary
// defines syscall() over the C library's (x86-64 only; elsewhere the cases
// say SKIP), and is built with IOULOOP_SYSCALL_VIA_LIBC so that the
// library's calls go through it (tests/BUILD.bazel).
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <chrono>
#include <thread>

#include "iouloop/combinators.hpp"
#include "iouloop/engine/userspace.hpp"
#include "tests/support/runners.hpp"

namespace {
struct enter_call {
  int fd;
  unsigned to_submit, min_complete, flags;
};
constexpr int max_calls = 8192;
enter_call calls[max_calls];
std::atomic<int> n_calls{0};
std::atomic<bool> recording{false};
}  // namespace

#if defined(__x86_64__) && !defined(IOULOOP_SYSCALL_VIA_LIBC)
#error "build this test with IOULOOP_SYSCALL_VIA_LIBC: the library's own system call would bypass the syscall() below"
#endif

#if defined(__x86_64__)
// Every syscall() of this binary, forwarded as the C library's does; the
// io_uring_enter ones are recorded while `recording` is set. Reads six
// arguments whatever the call (as the C library's own syscall() does), so
// ASan does not look at it.
extern "C" __attribute__((no_sanitize("address"))) long syscall(long nr, ...) noexcept {
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  if (nr == __NR_io_uring_enter && recording.load(std::memory_order_relaxed)) {
    const int i = n_calls.fetch_add(1, std::memory_order_relaxed);
    if (i < max_calls) calls[i] = {int(a[0]), unsigned(a[1]), unsigned(a[2]), unsigned(a[3])};
  }
  long r;
  register long r10 asm("r10") = a[3];
  register long r8 asm("r8") = a[4];
  register long r9 asm("r9") = a[5];
  asm volatile("syscall"
               : "=a"(r)
               : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  if (r < 0 && r > -4096) {
    errno = int(-r);
    return -1;
  }
  return r;
}
constexpr bool can_count = true;
#else
constexpr bool can_count = false;
#endif

namespace {
using namespace iouloop;

// The io_uring_enter calls of one run on the ring `fd`, by kind: by the fd,
// or by the index the engine registered for the thread (not the signal
// watch's ring, nor the fd check at the run's start).
struct counts {
  int alone = 0;   // SQEs, no wait
  int joined = 0;  // SQEs and IORING_ENTER_GETEVENTS
  int waits = 0;   // a wait, no SQEs
  int total = 0;   // every io_uring_enter recorded, any ring
};
template <class F>
counts count_enters(int fd, F run) {
  n_calls = 0;
  recording = true;
  run();
  recording = false;
  counts c;
  c.total = n_calls.load();
  REQUIRE(c.total <= max_calls);
  for (int i = 0; i < c.total; ++i) {
    if (calls[i].fd != fd && !(calls[i].flags & abi::enter::registered_ring)) continue;
    const bool sqes = calls[i].to_submit != 0, wait = (calls[i].flags & abi::enter::getevents) != 0;
    if (sqes && wait)
      c.joined++;
    else if (sqes)
      c.alone++;
    else if (wait)
      c.waits++;
  }
  return c;
}

void require_counting() {
  if (!can_count) SKIP("counting io_uring_enter calls needs x86-64 here");
}

struct params {
  abi::kernel_timespec brief;  // each timeout's
  abi::kernel_timespec later;  // from the `long_from`-th on (0: never)
  u32 total, long_from;
  u32 submitted, completed, in_flight, not_etime;
  u32 told;  // submitted() calls (the producer that wants the result)
  u32 halt;  // halted holds after the last submit
};

// One request at a time, `total` of them.
struct one_at_a_time {
  template <class Loop>
  static u32 wanted(Loop& l) {
    const params& p = l.params;
    return p.in_flight == 0 && p.submitted < p.total ? 1 : 0;
  }
};
// Timeouts: none completes inside its submit.
struct one_timeout : one_at_a_time {
  template <class Loop>
  static void produce(Loop& l, abi::sqe& s) {
    params& p = l.params;
    const bool late = p.long_from != 0 && p.submitted + 1 >= p.long_from;
    prep_timeout(s, late ? l.user_addr(p.later) : l.user_addr(p.brief), 0, 0, udata{});
    p.submitted++;
    p.in_flight = 1;
  }
};
// The same, and told each submit's result: the submit stays in the step.
struct one_timeout_told : one_timeout {
  template <class Loop>
  static void submitted(Loop& l, int) {
    l.params.told++;
  }
};
// NOPs: each completes inside its submit.
struct one_nop : one_at_a_time {
  template <class Loop>
  static void produce(Loop& l, abi::sqe& s) {
    prep_nop(s, udata{});
    l.params.submitted++;
    l.params.in_flight = 1;
  }
};
struct got {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c) {
    params& p = l.params;
    p.completed++;
    p.in_flight = 0;
    if (c.res() != -ETIME && c.res() != 0) p.not_etime++;
  }
};
struct all_done {
  template <class Loop>
  static bool holds(Loop& l) {
    return l.params.completed == l.params.total;
  }
};

// The same, for a predicate that says so (params_only_view).
struct all_done_params : all_done {
  static constexpr bool reads_params_only = true;
};
// Stops right after the last submit while `halt` is set.
struct halted {
  static constexpr bool reads_params_only = true;
  template <class Loop>
  static bool holds(Loop& l) {
    return l.params.halt && l.params.submitted == l.params.total;
  }
};

struct timeouts : sequence<reap<got>, stop_when<all_done>, refill<one_timeout>, wait_for<1>> {
  using params_type = params;
};
// Joined too: between the refill and the wait, stop_when<>s whose
// predicates cannot see what the submit did.
struct params_only_between : sequence<reap<got>, stop_when<all_done>, refill<one_timeout>, stop_when<all_done_params>,
                                      stop_when<halted>, wait_for<1>> {
  using params_type = params;
};
struct nops : sequence<reap<got>, stop_when<all_done>, refill<one_nop>, wait_for<1>> {
  using params_type = params;
};
// Not joined: a stage between the refill and the wait that could look at
// the ring after the submit ...
struct stage_between : sequence<reap<got>, refill<one_timeout>, stop_when<all_done>, wait_for<1>> {
  using params_type = params;
};
// ... a producer that wants the submit's result ...
struct told : sequence<reap<got>, stop_when<all_done>, refill<one_timeout_told>, wait_for<1>> {
  using params_type = params;
};
// ... and a step of the policy's own around the sequence (code may run after it).
struct own_step : timeouts {
  template <class Loop>
  static int step(Loop& l) {
    const int r = timeouts::step(l);
    l.params.told++;
    return r;
  }
};

using host_loop = loop<detail::host_backend, params>;
static_assert(detail::submit_at_end_of_step<timeouts, host_loop>());
static_assert(detail::submit_at_end_of_step<nops, host_loop>());
static_assert(detail::submit_at_end_of_step<params_only_between, host_loop>());
static_assert(!detail::submit_at_end_of_step<stage_between, host_loop>());
static_assert(!detail::submit_at_end_of_step<told, host_loop>());
static_assert(!detail::submit_at_end_of_step<own_step, host_loop>());
// Only the last refill, and only if nothing after it but params-only
// stop_when<>s and a final wait_for<> ...
static_assert(sequence<refill<one_timeout>, refill<one_timeout>, wait_for<1>>::ends_in_refill_then_wait);
static_assert(!sequence<refill<one_timeout>, stop_when<all_done_params>, stop_when<all_done>,
                        wait_for<1>>::ends_in_refill_then_wait);
static_assert(!sequence<refill<one_timeout>, wait_for<1>, stop_when<all_done_params>>::ends_in_refill_then_wait);
static_assert(!sequence<refill<one_timeout>, reap<got>, wait_for<1>>::ends_in_refill_then_wait);
// The kernel's engines submit inside the step, as the kernel's loop does.
static_assert(!detail::submit_at_end_of_step<timeouts, loop<detail::concept_backend, params>>());

constexpr abi::kernel_timespec us(long n) { return {0, n * 1000}; }

template <class P>
struct run_of {
  userspace_runner::session<P> s{ring_options{}, chaos::off()};
  explicit run_of(u32 total) {
    s.params() = params{};
    s.params().brief = us(100);
    s.params().total = total;
  }
};
// Runs it to its end and counts its calls.
template <class P>
counts run_to_end(run_of<P>& r) {
  int ret = -1;
  const counts c = count_enters(r.s.ring().fd(), [&] { ret = r.s.run(); });
  REQUIRE(ret == 0);
  CHECK(r.s.params().completed == r.s.params().total);
  return c;
}
}  // namespace

TEST_CASE("submit with the sleep: a step whose submit leaves the wait unmet sleeps in the same call",
          "[submit-with-sleep]") {
  require_counting();
  run_of<timeouts> r(200);
  const counts c = run_to_end(r);
  CHECK(r.s.params().not_etime == 0);
  // Step 1 submits alone and sees the wait unmet; every later step joins
  // them, except each 64th, which submits alone again (the probe): steps 1,
  // 65, 129 and 193 of the 200 that submit.
  CHECK(c.alone == 4);
  CHECK(c.joined == 196);
  CHECK(c.waits >= 4);  // after each submit alone
}

TEST_CASE("submit with the sleep: across stop_when<>s whose predicates read only the params", "[submit-with-sleep]") {
  require_counting();
  run_of<params_only_between> r(200);
  const counts c = run_to_end(r);
  CHECK(r.s.params().not_etime == 0);
  CHECK(c.alone == 4);  // steps 1, 65, 129 and 193, as without the stages
  CHECK(c.joined == 196);
}

TEST_CASE("submit with the sleep: a stop_when<> between the refill and the wait ends the step, the submit made",
          "[submit-with-sleep]") {
  // The kernel's loop has submitted the SQE when the step returns STOP
  // (bpf_io_uring_submit_sqes runs io_submit_sqes at once): the engine makes
  // the submit it was left before run() returns.
  require_counting();
  run_of<params_only_between> r(3);
  r.s.params().halt = 1;
  const counts c = count_enters(r.s.ring().fd(), [&] { CHECK(r.s.run() == 0); });
  CHECK(r.s.params().submitted == 3);
  CHECK(r.s.params().completed == 2);  // it stopped before it reaped the third
  CHECK(c.alone + c.joined == 3);
  // The next run sleeps until the third timeout completes (a lost SQE would
  // leave it sleeping with nothing in flight).
  r.s.params().halt = 0;
  CHECK(r.s.run() == 0);
  CHECK(r.s.params().completed == 3);
  CHECK(r.s.params().not_etime == 0);
}

TEST_CASE("submit with the sleep: a submit that completes what the step waits for goes alone", "[submit-with-sleep]") {
  require_counting();
  run_of<nops> r(100);
  const counts c = run_to_end(r);
  CHECK(c.joined == 0);  // GETEVENTS with EXT_ARG would cost more than the submit
  CHECK(c.alone == 100);
  CHECK(c.waits == 0);
}

TEST_CASE("submit with the sleep: policies whose submit stays in the step", "[submit-with-sleep]") {
  require_counting();
  {
    run_of<stage_between> r(20);
    const counts c = run_to_end(r);
    CHECK(c.joined == 0);
    CHECK(c.alone == 20);
  }
  {
    run_of<told> r(20);
    const counts c = run_to_end(r);
    CHECK(r.s.params().told == r.s.exit().steps - 1);  // every step but the last (a step may come early)
    CHECK(c.joined == 0);
    CHECK(c.alone == 20);
  }
  {
    run_of<own_step> r(20);
    const counts c = run_to_end(r);
    CHECK(r.s.params().told == r.s.exit().steps);  // every step, the last one too
    CHECK(c.joined == 0);
    CHECK(c.alone == 20);
  }
}

namespace {
std::atomic<int> handled{0};
void on_usr1(int) { handled.fetch_add(1); }
}  // namespace

TEST_CASE("submit with the sleep: a signal during the joined sleep ends the run with -EINTR, the submit made",
          "[submit-with-sleep]") {
  // io_uring_enter returns the count submitted, not the wait's -EINTR: the
  // engine learns of the signal from its signal watch, as after any sleep
  // (rule: a pending signal that is not ignored ends the loop, -EINTR,
  // __io_run_loop's task_sigpending check).
  require_counting();
  struct sigaction sa{}, old{};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);
  handled = 0;

  run_of<timeouts> r(4);
  // The fourth timeout waits 2 s; the signal comes while the step that
  // submitted it sleeps (steps 2 to 4 join their submit to the sleep).
  r.s.params().long_from = 4;
  r.s.params().later = {2, 0};
  const pthread_t self = pthread_self();
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    const volatile u32& submitted = r.s.params().submitted;
    while (submitted < 4 && !stop.load()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!stop.load()) pthread_kill(self, SIGUSR1);
  });
  int first = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const counts c = count_enters(r.s.ring().fd(), [&] { first = r.s.run(); });
  const auto took = std::chrono::steady_clock::now() - t0;
  stop = true;
  sender.join();
  CHECK(first == -EINTR);
  CHECK(handled.load() == 1);
  CHECK(c.joined >= 1);
  CHECK(took < std::chrono::milliseconds(1500));  // not after the 2 s timeout
  CHECK(r.s.params().submitted == 4);
  // The fourth timeout was submitted in that call: the next run reaps it
  // (a lost SQE would leave nothing in flight and the run would sleep on).
  CHECK(r.s.run() == 0);
  CHECK(r.s.params().completed == 4);
  CHECK(r.s.params().not_etime == 0);
  sigaction(SIGUSR1, &old, nullptr);
}
