// The loop-semantics table: one TEST_CASE per rule of io_uring/loop.c
// (design.md §1), written against a Runner so that every engine runs the
// very same cases:
//
//   IOULOOP_SEMANTICS_CASES(userspace_runner)   // tests/semantics_userspace_test.cc
//   IOULOOP_SEMANTICS_CASES(bpf_runner)         // tests/semantics_bpf_test.cc, in the VM
//
// A Runner has `name` and `session<Policy>`: a ring made with the given
// ring_options, a param region, and `run()` = one io_uring_enter of the loop.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <atomic>
#include <cerrno>
#include <functional>
#include <initializer_list>
#include <thread>

#include "iouloop/iouloop.hpp"
#include "tests/semantics/policies.hpp"

namespace sem_test {

inline void on_sigusr1(int) {}

// Sends `signo` to the calling thread `ms` after `ready()` first holds
// (polled every 100 us, for 30 s at most), from another thread. Tests pass a
// `ready` that looks at the loop's own progress (params, the CQ), so that
// the signal lands where the test means it to whatever the machine's load.
// SIGUSR1 gets an empty handler; other signals keep their disposition.
class signal_after {
 public:
  explicit signal_after(int ms, int signo = SIGUSR1, std::function<bool()> ready = {})
      : target_(pthread_self()) {
    if (signo == SIGUSR1) {
      struct sigaction sa {};
      sa.sa_handler = on_sigusr1;  // no SA_RESTART: the wait must see EINTR
      sigaction(SIGUSR1, &sa, nullptr);
    }
    thread_ = std::thread([this, ms, signo, ready] {
      wait_until(ready);
      struct timespec t {ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&t, nullptr);
      pthread_kill(target_, signo);
    });
  }
  ~signal_after() { thread_.join(); }

  static void wait_until(const std::function<bool()>& ready) {
    for (int i = 0; ready && i < 300000 && !ready(); ++i) {
      struct timespec t {0, 100000};
      nanosleep(&t, nullptr);
    }
  }

 private:
  pthread_t target_;
  std::thread thread_;
};

// A field of the params as another thread sees it while the loop runs.
template <class T>
T watch(const T& field) {
  return __atomic_load_n(&field, __ATOMIC_ACQUIRE);
}

// Sends each of `signals` in turn to the calling thread every `us`
// microseconds, from another thread, until destroyed.
class signal_storm {
 public:
  // After `enough` signals, stores 1 into `*done` (a params field the
  // policy watches), so the run overlaps the storm whatever the load.
  signal_storm(std::initializer_list<int> signals, long us, unsigned enough = 0, iouloop::u32* done = nullptr)
      : target_(pthread_self()) {
    int n = 0;
    for (int s : signals) signals_[n++] = s;
    thread_ = std::thread([this, n, us, enough, done] {
      for (unsigned i = 0; !stop_.load(); ++i) {
        struct timespec t {0, us * 1000};
        nanosleep(&t, nullptr);
        pthread_kill(target_, signals_[i % n]);
        if (++sent_ == enough && done) __atomic_store_n(done, 1u, __ATOMIC_RELEASE);
      }
    });
  }
  ~signal_storm() {
    stop_ = true;
    thread_.join();
  }
  unsigned sent() const { return sent_.load(); }

 private:
  pthread_t target_;
  int signals_[8] = {};
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> sent_{0};
  std::thread thread_;
};

// Calls `f` from another thread `ms` after `ready()` first holds.
template <class F>
class after_ms {
 public:
  after_ms(int ms, std::function<bool()> ready, F f) : thread_([ms, ready, f] {
      signal_after::wait_until(ready);
      struct timespec t {ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&t, nullptr);
      f();
    }) {}
  ~after_ms() { thread_.join(); }

 private:
  std::thread thread_;
};

inline iouloop::ring_options small_cq() {
  iouloop::ring_options o;
  o.sq_entries = 8;
  o.cq_entries = 16;
  return o;
}

}  // namespace sem_test

#define IOULOOP_SEMANTICS_CASES(Runner)                                                            \
  TEST_CASE("STOP ends the loop and io_uring_enter returns 0", "[semantics][" #Runner "]") {       \
    typename Runner::template session<sem::stop_at_once> s;                                                          \
    REQUIRE(s.run() == 0);                                                                         \
    REQUIRE(s.params().steps == 1);                                                                \
  }                                                                                                \
  TEST_CASE("CONTINUE runs the step again", "[semantics][" #Runner "]") {                          \
    typename Runner::template session<sem::continue_until_limit> s;                                                  \
    s.params().limit = 1000;                                                                       \
    REQUIRE(s.run() == 0);                                                                         \
    REQUIRE(s.params().steps == 1000);                                                             \
  }                                                                                                \
  TEST_CASE("any other return value ends the loop with -EINVAL", "[semantics][" #Runner "]") {     \
    const int value = GENERATE(2, 3, -1, -22, 255, 0x7fffffff);                                    \
    CAPTURE(value);                                                                                \
    typename Runner::template session<sem::return_value> s;                                                          \
    s.params().value = value;                                                                      \
    REQUIRE(s.run() == -EINVAL);                                                                   \
    REQUIRE(s.params().steps == 1);                                                                \
    s.params().steps = 0;                                                                          \
    s.params().value = iouloop::loop_stop; /* the ring is still usable */                          \
    REQUIRE(s.run() == 0);                                                                         \
  }                                                                                                \
  TEST_CASE("cq_wait_idx past the tail sleeps until the CQEs arrive", "[semantics][exact-wake][" #Runner "]") { \
    const int timers = GENERATE(1, 3);                                                             \
    CAPTURE(timers);                                                                               \
    typename Runner::template session<sem::sleep_until_cqes> s;                                                      \
    s.params().value = timers;                                                                     \
    s.params().limit = 50; /* spinning would take thousands of steps */                            \
    REQUIRE(s.run() == 0);                                                                         \
    REQUIRE(s.params().submit_ret == timers);                                                      \
    REQUIRE(s.params().completed == iouloop::u32(timers));                                                  \
    REQUIRE(s.params().last_res == -ETIME);                                                        \
    /* one wake per timer, and a few early wake-ups at most (it is a hint) */                     \
    REQUIRE(s.params().steps <= iouloop::u32(timers) + 1 + 4);                                              \
    REQUIRE(s.params().empty_wakes <= 4);                                                          \
  }                                                                                                \
  TEST_CASE("iou_loop_params is zeroed per run and kept between steps",                           \
            "[semantics][" #Runner "]") {                                                          \
    typename Runner::template session<sem::wait_idx_lifetime> s;                                                     \
    for (int run = 0; run < 2; ++run) {                                                            \
      s.params().steps = 0;                                                                        \
      s.params().first_wait_idx = 1;                                                               \
      REQUIRE(s.run() == 0);                                                                       \
      REQUIRE(s.params().steps == 2);                                                              \
      REQUIRE(s.params().first_wait_idx == 0);                                                     \
      REQUIRE(s.params().second_wait_idx == s.ring().cq_tail());                                   \
    }                                                                                              \
  }                                                                                                \
  TEST_CASE("a submission returns the number submitted", "[semantics][" #Runner "]") {             \
    typename Runner::template session<sem::submit_count> s;                                                          \
    s.params().limit = 20;                                                                         \
    REQUIRE(s.run() == 0);                                                                         \
    REQUIRE(s.params().submit_ret == 3);                                                           \
    REQUIRE(s.params().completed == 3);                                                            \
    REQUIRE(s.params().last_res == 0);                                                             \
  }                                                                                                \
  TEST_CASE("CQ overflow is flushed by the loop; no completion is lost",                           \
            "[semantics][" #Runner "]") {                                                          \
    typename Runner::template session<sem::overflow_flush> s(sem_test::small_cq());                                  \
    s.params().value = 64; /* four times the CQ */                                                 \
    s.params().limit = 1000;                                                                       \
    REQUIRE(s.run() == 0);                                                                         \
    REQUIRE(s.params().submitted >= 64);                                                           \
    REQUIRE(s.params().completed == s.params().submitted);                                         \
    REQUIRE(s.params().max_ready <= 16);                                                           \
  }                                                                                                \
  TEST_CASE("a signal during a sleep ends the loop with -EINTR; the next run resumes",             \
            "[semantics][signal][" #Runner "]") {                                                  \
    typename Runner::template session<sem::interrupted_sleep> s;                                                     \
    s.params().limit = 50;                                                                         \
    int first;                                                                                     \
    {                                                                                              \
      sem_test::signal_after sig(100, SIGUSR1, [&] { return sem_test::watch(s.params().steps) >= 1; }); \
      first = s.run();                                                                             \
    }                                                                                              \
    REQUIRE(first == -EINTR);                                                                      \
    REQUIRE(s.params().phase == 1);                                                                \
    REQUIRE(s.params().completed == 0);                                                            \
    s.params().resume = 1;                                                                         \
    REQUIRE(s.run() == 0); /* cancels the timer and collects both CQEs */                          \
    REQUIRE(s.params().completed == 2);                                                            \
    REQUIRE(s.params().last_res == -ECANCELED);                                                    \
  }                                                                                                \
  TEST_CASE("a signal between steps ends a busy loop with -EINTR", "[semantics][signal][" #Runner "]") { \
    typename Runner::template session<sem::continue_until_limit> s;                                                     \
    s.params().limit = 400000000; /* a bound: a deaf engine fails, it does not hang */             \
    int ret;                                                                                       \
    {                                                                                              \
      sem_test::signal_after sig(50, SIGUSR1, [&] { return sem_test::watch(s.params().steps) >= 1; }); \
      ret = s.run();                                                                               \
    }                                                                                              \
    REQUIRE(ret == -EINTR);                                                                        \
    REQUIRE(s.params().steps < s.params().limit);                                                  \
  }                                                                                                \
  TEST_CASE("a signal whose action is to ignore it does not end the loop",                        \
            "[semantics][signal][" #Runner "]") {                                                  \
    struct sigaction dfl {};                                                                       \
    dfl.sa_handler = SIG_DFL;                                                                      \
    sigaction(SIGCHLD, &dfl, nullptr); /* SIGCHLD's default action: ignore */                     \
    {                                                                                              \
      typename Runner::template session<sem::sleep_until_cqes> s;                                  \
      s.params().value = 1;                                                                        \
      s.params().limit = 50;                                                                       \
      int ret;                                                                                     \
      {                                                                                            \
        sem_test::signal_after sig(5, SIGCHLD, [&] { return sem_test::watch(s.params().steps) >= 1; }); \
        ret = s.run();                                                                             \
      }                                                                                            \
      REQUIRE(ret == 0);                                                                           \
      REQUIRE(s.params().last_res == -ETIME);                                                      \
    }                                                                                              \
    {                                                                                              \
      typename Runner::template session<sem::continue_until_limit> s;                                 \
      s.params().limit = 3000000;                                                                  \
      int ret;                                                                                     \
      {                                                                                            \
        sem_test::signal_after sig(1, SIGCHLD, [&] { return sem_test::watch(s.params().steps) >= 1; }); \
        ret = s.run();                                                                             \
      }                                                                                            \
      REQUIRE(ret == 0);                                                                           \
      REQUIRE(s.params().steps == s.params().limit);                                               \
    }                                                                                              \
  }                                                                                                \
  TEST_CASE("rings the loop cannot drive are refused with a named error",                          \
            "[semantics][errors][" #Runner "]") {                                                  \
    using namespace iouloop;                                                                       \
    struct row {                                                                                   \
      u32 flags;                                                                                   \
      const char* says;                                                                            \
    };                                                                                             \
    const row r = GENERATE(values<row>({                                                           \
        {abi::setup::no_sqarray, "IORING_SETUP_DEFER_TASKRUN"},                                    \
        {abi::setup::single_issuer | abi::setup::no_sqarray, "IORING_SETUP_DEFER_TASKRUN"},        \
        {abi::setup::coop_taskrun | abi::setup::taskrun_flag, "IORING_SETUP_DEFER_TASKRUN"},       \
        {abi::setup::sqpoll, "IORING_SETUP_SQPOLL"},                                               \
        {abi::setup::iopoll | abi::setup::single_issuer | abi::setup::defer_taskrun,               \
         "IORING_SETUP_IOPOLL"},                                                                   \
        {ring_options{}.flags | abi::setup::sqe128, "IORING_SETUP_SQE128"},                        \
        {ring_options{}.flags | abi::setup::cqe32, "IORING_SETUP_CQE32"},                          \
    }));                                                                                           \
    ring_options o;                                                                                \
    o.flags = r.flags;                                                                             \
    Runner::template expect_refused<sem::stop_at_once>(o, r.says);                                 \
  }                                                                                                  \
  TEST_CASE("a handled signal that arrives with completions ends the run with -EINTR",               \
            "[semantics][signal][" #Runner "]") {                                                    \
    /* io_uring/loop.c __io_run_loop: task_sigpending() after every wait, */                         \
    /* whatever the wait found. (io_cqring_wait would run the handler and */                         \
    /* report the CQEs instead: the userspace engine must not.) */                                   \
    typename Runner::template session<sem::signal_with_completions> s;                               \
    s.params().value = 20;    /* the short timer (ms): its CQE is in the CQ when the signal comes */ \
    s.params().limit = 3000;  /* the long timer (ms) */                                              \
    int first;                                                                                       \
    {                                                                                                \
      sem_test::signal_after sig(20, SIGUSR1, [&] { /* the short CQE is in, the loop sleeps */       \
        return sem_test::watch(s.params().steps) >= 1 && s.ring().cq_tail() != s.ring().cq_head();   \
      });                                                                                            \
      first = s.run();                                                                               \
    }                                                                                                \
    REQUIRE(first == -EINTR);                                                                        \
    REQUIRE(s.params().completed == 0);                                                              \
    REQUIRE(s.ring().cq_tail() - s.ring().cq_head() == 1u);                                          \
    REQUIRE(s.run() == 0);  /* resumes: the long timer, then both CQEs */                            \
    REQUIRE(s.params().completed == 2);                                                              \
    REQUIRE(s.params().last_res == -ETIME);                                                          \
  }                                                                                                  \
  TEST_CASE("signals whose action is to ignore them never end a run, between a step and its sleep too", \
            "[semantics][signal][" #Runner "]") {                                                    \
    /* kernel/signal.c prepare_signal(): an ignored signal that is not */                            \
    /* blocked is dropped at generation, so io_uring/loop.c never sees */                            \
    /* task_sigpending() for it. Default-ignored (SIGCHLD) and SIG_IGN */                            \
    /* (SIGUSR2), every 100 us, over a chain of short sleeps. */                                     \
    struct sigaction ign {}, dfl {}, old_usr2 {};                                                    \
    ign.sa_handler = SIG_IGN;                                                                        \
    dfl.sa_handler = SIG_DFL;                                                                        \
    sigaction(SIGUSR2, &ign, &old_usr2);                                                             \
    sigaction(SIGCHLD, &dfl, nullptr);                                                               \
    typename Runner::template session<sem::timer_chain> s;                                           \
    s.params().rounds = 1000000; /* a bound; the policy stops when the storm says it has sent enough */ \
    int ret;                                                                                         \
    unsigned sent;                                                                                   \
    {                                                                                                \
      sem_test::signal_storm storm({SIGCHLD, SIGUSR2}, 100, 300, &s.params().resume);                \
      ret = s.run();                                                                                 \
      sent = storm.sent();                                                                           \
    }                                                                                                \
    sigaction(SIGUSR2, &old_usr2, nullptr);                                                          \
    CAPTURE(sent, s.params().steps);                                                                 \
    REQUIRE(ret == 0);                                                                               \
    REQUIRE(s.params().resume == 1u);                                                                \
    REQUIRE(sent >= 300u);                                                                           \
  }                                                                                                  \
  TEST_CASE("task work runs every iteration, on rings without IORING_SETUP_TASKRUN_FLAG too",        \
            "[semantics][" #Runner "]") {                                                            \
    /* io_uring/loop.c __io_run_loop: io_run_local_work_locked() each */                             \
    /* iteration, whatever IORING_SETUP_TASKRUN_FLAG says: a step that never */                      \
    /* asks to sleep still sees its completions. */                                                  \
    iouloop::ring_options o;                                                                         \
    o.flags = iouloop::abi::setup::single_issuer | iouloop::abi::setup::defer_taskrun |              \
              iouloop::abi::setup::no_sqarray;                                                       \
    typename Runner::template session<sem::busy_poll> s(o);                                          \
    s.params().value = 5;            /* the timer (ms) */                                            \
    s.params().limit = 20000000;     /* a bound: an engine that never runs the task work fails */    \
    REQUIRE(s.run() == 0);                                                                           \
    CAPTURE(s.params().steps);                                                                       \
    REQUIRE(s.params().completed == 1);                                                              \
    REQUIRE(s.params().last_res == -ETIME);                                                          \
    REQUIRE(s.params().steps < s.params().limit);                                                    \
  }                                                                                                  \
  TEST_CASE("run() from a thread that is not the ring's submitter gives -EEXIST, with no step run",  \
            "[semantics][errors][" #Runner "]") {                                                    \
    /* io_uring/loop.c io_run_loop: !io_allowed_run_tw(ctx) -> -EEXIST before */                     \
    /* the first step (IORING_SETUP_SINGLE_ISSUER: the creating task owns it). */                    \
    typename Runner::template session<sem::stop_at_once> s;                                          \
    int other = 1;                                                                                   \
    std::thread([&] { other = s.run(); }).join();                                                    \
    REQUIRE(other == -EEXIST);                                                                       \
    REQUIRE(s.params().steps == 0);                                                                  \
    REQUIRE(s.run() == 0);  /* the owner still can */                                                \
    REQUIRE(s.params().steps == 1);                                                                  \
  }                                                                                                  \
  TEST_CASE("a ring still R_DISABLED gives -EBADFD, with no step run", "[semantics][errors][" #Runner "]") { \
    /* io_uring/io_uring.c io_uring_enter: IORING_SETUP_R_DISABLED -> -EBADFD, */                    \
    /* checked before io_has_loop_ops(). */                                                          \
    iouloop::ring_options o;                                                                         \
    o.flags |= iouloop::abi::setup::r_disabled;                                                      \
    typename Runner::template session<sem::stop_at_once> s(o);                                       \
    REQUIRE(s.run() == -EBADFD);                                                                     \
    REQUIRE(s.params().steps == 0);                                                                  \
  }                                                                                                  \
  TEST_CASE("loop ops removed during a run end it with -EFAULT, and later runs say so too",          \
            "[semantics][errors][" #Runner "]") {                                                    \
    /* io_uring/loop.c __io_run_loop: !ctx->loop_step -> -EFAULT at the next */                      \
    /* iteration (bpf-ops.c bpf_io_unreg/io_eject_bpf clear it while the loop */                     \
    /* sleeps); after that io_uring_enter is no loop, and the engines say */                         \
    /* -EFAULT rather than 0 (which would read as STOP). */                                          \
    typename Runner::template session<sem::signal_with_completions> s;                               \
    s.params().value = 300;                                                                          \
    s.params().limit = 3000;                                                                         \
    int ret;                                                                                         \
    {                                                                                                \
      sem_test::after_ms detach(50, [&] { return sem_test::watch(s.params().steps) >= 1; }, [&] { s.detach(); }); \
      ret = s.run();                                                                                 \
    }                                                                                                \
    REQUIRE(ret == -EFAULT);                                                                         \
    REQUIRE(s.params().steps >= 1);                                                                  \
    const auto steps = s.params().steps;                                                             \
    REQUIRE(s.run() == -EFAULT);                                                                     \
    REQUIRE(s.params().steps == steps);                                                              \
  }                                                                                                  \
  TEST_CASE("a step may see part of what it waited for: timeouts wake the loop early",               \
            "[semantics][" #Runner "]") {                                                            \
    /* io_uring/loop.c io_loop_wait is one schedule(), and a timeout's task                          \
       work is not lazy (io_uring/tw.c io_req_local_work_add wakes at once);                         \
       the userspace engine's wait ends at each timeout too (io_uring/wait.c                         \
       io_should_wake counts cq_timeouts). A policy that assumes full                                \
       batches sees short ones on both engines. */                                                   \
    typename Runner::template session<sem::assumes_full_batch> s(iouloop::ring_options{}, iouloop::chaos::off()); \
    s.params().value = 0;                                                                            \
    s.params().rounds = 4;                                                                           \
    s.params().limit = 1000;                                                                         \
    REQUIRE(s.run() == 0);                                                                           \
    REQUIRE(s.params().completed == 12);                                                             \
    CAPTURE(s.params().steps);                                                                       \
    REQUIRE(s.params().short_batches >= 1);                                                          \
  }                                                                                                  \
  TEST_CASE("a policy that assumes full batches is caught by chaos mode",                            \
            "[semantics][chaos][" #Runner "]") {                                                     \
    /* io_uring/loop.c io_loop_wait may return before cq_wait_idx is reached                         \
       (io-wq completions are not lazy task work); without chaos the                                 \
       userspace engine sleeps to the target, so the assumption goes unseen                          \
       there. Expected to "fail" under chaos: short_batches > 0. */                                  \
    typename Runner::template session<sem::assumes_full_batch> s(iouloop::ring_options{},            \
                                                                 iouloop::chaos::with_seed(1));      \
    s.params().value = 1;                                                                            \
    s.params().rounds = 8;                                                                           \
    s.params().limit = 1000;                                                                         \
    REQUIRE(s.run() == 0);                                                                           \
    REQUIRE(s.params().completed == 24);                                                             \
    CAPTURE(s.params().steps, s.params().short_batches);                                             \
    if constexpr (!Runner::kernel) {                                                                 \
      REQUIRE(s.params().short_batches >= 1);                                                        \
      typename Runner::template session<sem::assumes_full_batch> calm(iouloop::ring_options{},       \
                                                                      iouloop::chaos::off());        \
      calm.params().value = 1;                                                                       \
      calm.params().rounds = 8;                                                                      \
      calm.params().limit = 1000;                                                                    \
      REQUIRE(calm.run() == 0);                                                                      \
      REQUIRE(calm.params().completed == 24);                                                        \
      REQUIRE(calm.params().short_batches == 0); /* without chaos the assumption goes unseen */      \
    }                                                                                                \
  }                                                                                                  \
  TEST_CASE("rings with mixed-size SQEs or CQEs are refused by name", "[semantics][errors][" #Runner "]") { \
    /* The views read 64-byte SQEs and 16-byte CQEs only; the mixed modes */                         \
    /* (Linux 6.18+/6.19+) would be misread. Where this kernel cannot even */                        \
    /* make such a ring, the check the engines run is tested on the flags. */                        \
    using namespace iouloop;                                                                         \
    struct row {                                                                                     \
      u32 flag;                                                                                      \
      const char* says;                                                                              \
    };                                                                                               \
    const row r = GENERATE(values<row>({{abi::setup::cqe_mixed, "IORING_SETUP_CQE_MIXED"},           \
                                        {abi::setup::sqe_mixed, "IORING_SETUP_SQE_MIXED"}}));        \
    ring_options o;                                                                                  \
    o.flags |= r.flag;                                                                               \
    bool made = true;                                                                                \
    try {                                                                                            \
      iouloop::ring probe(o);                                                                        \
    } catch (const iouloop::error& e) {                                                              \
      made = false;                                                                                  \
      WARN("this kernel cannot make a ring with " << r.says << " (" << e.what() << "): checking the flags only"); \
      REQUIRE_THAT(loop_flags_problem(o.flags), Catch::Matchers::ContainsSubstring(r.says));         \
    }                                                                                                \
    if (made) Runner::template expect_refused<sem::stop_at_once>(o, r.says);                         \
  }
