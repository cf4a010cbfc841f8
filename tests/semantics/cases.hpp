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
#include <cerrno>
#include <thread>

#include "iouloop/iouloop.hpp"
#include "tests/semantics/policies.hpp"

namespace sem_test {

inline void on_sigusr1(int) {}

// Sends `signo` to the calling thread after `ms`, from another thread.
// SIGUSR1 gets an empty handler; other signals keep their disposition.
class signal_after {
 public:
  explicit signal_after(int ms, int signo = SIGUSR1) : target_(pthread_self()) {
    if (signo == SIGUSR1) {
      struct sigaction sa {};
      sa.sa_handler = on_sigusr1;  // no SA_RESTART: the wait must see EINTR
      sigaction(SIGUSR1, &sa, nullptr);
    }
    thread_ = std::thread([this, ms, signo] {
      struct timespec t {ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&t, nullptr);
      pthread_kill(target_, signo);
    });
  }
  ~signal_after() { thread_.join(); }

 private:
  pthread_t target_;
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
  TEST_CASE("cq_wait_idx past the tail sleeps until the CQEs arrive", "[semantics][" #Runner "]") { \
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
      sem_test::signal_after sig(100);                                                             \
      first = s.run();                                                                             \
    }                                                                                              \
    REQUIRE(first == -EINTR);                                                                      \
    REQUIRE(s.params().phase == 1);                                                                \
    REQUIRE(s.params().completed == 0);                                                            \
    REQUIRE(s.run() == 0); /* cancels the timer and collects both CQEs */                          \
    REQUIRE(s.params().completed == 2);                                                            \
    REQUIRE(s.params().last_res == -ECANCELED);                                                    \
  }                                                                                                \
  TEST_CASE("a signal between steps ends a busy loop with -EINTR", "[semantics][signal][" #Runner "]") { \
    typename Runner::template session<sem::busy_until_signal> s;                                                     \
    s.params().limit = 400000000; /* a bound: a deaf engine fails, it does not hang */             \
    int ret;                                                                                       \
    {                                                                                              \
      sem_test::signal_after sig(50);                                                              \
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
        sem_test::signal_after sig(5, SIGCHLD); /* during the 20 ms sleep */                       \
        ret = s.run();                                                                             \
      }                                                                                            \
      REQUIRE(ret == 0);                                                                           \
      REQUIRE(s.params().last_res == -ETIME);                                                      \
    }                                                                                              \
    {                                                                                              \
      typename Runner::template session<sem::busy_until_signal> s;                                 \
      s.params().limit = 3000000;                                                                  \
      int ret;                                                                                     \
      {                                                                                            \
        sem_test::signal_after sig(1, SIGCHLD); /* between steps */                                \
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
    }));                                                                                           \
    ring_options o;                                                                                \
    o.flags = r.flags;                                                                             \
    Runner::template expect_refused<sem::stop_at_once>(o, r.says);                                 \
  }
