// Hostile or mistaken use, as a table per engine: every case ends in a
// named error (or the documented result) and leaks nothing: fds, memory
// mappings, BPF programs, maps and links are counted before and after.
// IOULOOP_BAD_INPUT_CASES(Runner) defines them; the BPF-only cases (double
// attach, a program built for another policy, a non-sleepable program) are
// in tests/engines_bpf_test.cc, and params too large for their region fail
// to compile (tests/compile_fail).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <thread>

#include "examples/cp/cp_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/bad_input/policies.hpp"
#include "tests/semantics/policies.hpp"
#include "tests/support/census.hpp"
#include "tests/support/files.hpp"

namespace bad_test {
inline void on_signal(int) {}

// SIGUSR1 to the calling thread every `period_us` until stopped.
class signal_storm {
 public:
  explicit signal_storm(int period_us) : target_(pthread_self()) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, nullptr);
    thread_ = std::thread([this, period_us] {
      while (!stop_.load()) {
        pthread_kill(target_, SIGUSR1);
        struct timespec t {0, period_us * 1000L};
        nanosleep(&t, nullptr);
      }
    });
  }
  ~signal_storm() {
    stop_ = true;
    thread_.join();
  }

 private:
  pthread_t target_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};
}  // namespace bad_test

#define IOULOOP_BAD_INPUT_CASES(Runner)                                                            \
  TEST_CASE("bad input: rings the loop cannot drive", "[bad-input][" #Runner "]") {                \
    using namespace iouloop;                                                                       \
    struct row {                                                                                   \
      const char* what;                                                                            \
      u32 flags;                                                                                   \
      const char* says;                                                                            \
    };                                                                                             \
    const row r = GENERATE(values<row>({                                                           \
        {"no DEFER_TASKRUN", abi::setup::no_sqarray, "lacks IORING_SETUP_DEFER_TASKRUN"},          \
        {"SQPOLL", abi::setup::sqpoll, "IORING_SETUP_SQPOLL, which the loop does not support"},    \
        {"IOPOLL", abi::setup::iopoll | abi::setup::single_issuer | abi::setup::defer_taskrun,     \
         "IORING_SETUP_IOPOLL, which the loop does not support"},                                  \
    }));                                                                                           \
    CAPTURE(r.what);                                                                               \
    const census before = census::settled();                                                       \
    ring_options o;                                                                                \
    o.flags = r.flags;                                                                             \
    Runner::template expect_refused<sem::stop_at_once>(o, r.says);                                 \
    REQUIRE(census::until_within(before).within(before));                                          \
  }                                                                                                \
  TEST_CASE("bad input: a step returning an invalid value ends with -EINVAL",                      \
            "[bad-input][" #Runner "]") {                                                          \
    const census before = census::settled();                                                       \
    {                                                                                              \
      typename Runner::template session<sem::return_value> s;                                      \
      s.params().value = 42;                                                                       \
      REQUIRE(s.run() == -EINVAL);                                                                 \
    }                                                                                              \
    REQUIRE(census::until_within(before).within(before));                                          \
  }                                                                                                \
  TEST_CASE("bad input: a step asking for more SQEs than the SQ holds gets exactly the SQ",        \
            "[bad-input][" #Runner "]") {                                                          \
    const census before = census::settled();                                                       \
    {                                                                                              \
      iouloop::ring_options o;                                                                     \
      o.sq_entries = 64;                                                                           \
      o.cq_entries = 256;                                                                          \
      typename Runner::template session<bad::oversubscribe> s(o);                                  \
      s.params().limit = 1000;                                                                     \
      REQUIRE(s.run() == 0);                                                                       \
      REQUIRE(s.params().prepared == 64);                                                          \
      REQUIRE(s.params().submit_ret == 64);                                                        \
      REQUIRE(s.params().completed == 64);                                                         \
    }                                                                                              \
    REQUIRE(census::until_within(before).within(before));                                          \
  }                                                                                                \
  TEST_CASE("bad input: CQ overflow loses nothing", "[bad-input][" #Runner "]") {                  \
    const census before = census::settled();                                                       \
    {                                                                                              \
      iouloop::ring_options o;                                                                     \
      o.sq_entries = 8;                                                                            \
      o.cq_entries = 16;                                                                           \
      typename Runner::template session<sem::overflow_flush> s(o);                                 \
      s.params().value = 200;                                                                      \
      s.params().limit = 5000;                                                                     \
      REQUIRE(s.run() == 0);                                                                       \
      REQUIRE(s.params().completed == s.params().submitted);                                       \
    }                                                                                              \
    REQUIRE(census::until_within(before).within(before));                                          \
  }                                                                                                \
  TEST_CASE("bad input: the ring fd closed under the engine gives -EBADF",                         \
            "[bad-input][" #Runner "]") {                                                          \
    const census before = census::settled();                                                       \
    {                                                                                              \
      typename Runner::template session<bad::forever> s;                                           \
      s.params().limit = 100000;                                                                   \
      const int dup_fd = ::dup(s.ring().fd()); /* keep the ring alive, lose the number */          \
      REQUIRE(::close(s.ring().fd()) == 0);                                                        \
      REQUIRE(s.run() == -EBADF);                                                                  \
      REQUIRE(::dup2(dup_fd, s.ring().fd()) == s.ring().fd()); /* let the destructor close it */   \
      ::close(dup_fd);                                                                             \
    }                                                                                              \
    REQUIRE(census::until_within(before).within(before));                                          \
  }                                                                                                \
  TEST_CASE("bad input: signals in the middle of a copy; resuming finishes with the right bytes",  \
            "[bad-input][signal][" #Runner "]") {                                                  \
    std::thread([] {}).join(); /* glibc caches a thread stack: not ours to count */                \
    const census before = census::settled();                                                       \
    {                                                                                              \
      const size_t size = size_t(64) << 20;                                                        \
      auto data = testfiles::pattern(size, 11);                                                    \
      testfiles::temp_file in("sig-in", data), out("sig-out");                                     \
      testfiles::buffers bufs(4096 * 4);                                                           \
      typename Runner::template session<cp::policy> s;                                             \
      s.params() = cp::make_params(in.fd(), out.fd(), size, bufs.addr(), 4096, 4);                 \
      int interrupted = 0, ret = -EINTR;                                                           \
      {                                                                                            \
        bad_test::signal_storm storm(500);                                                         \
        for (int i = 0; i < 100000 && ret == -EINTR; ++i) {                                        \
          ret = s.run();                                                                           \
          if (ret == -EINTR) interrupted++;                                                        \
        }                                                                                          \
      }                                                                                            \
      CAPTURE(interrupted);                                                                        \
      REQUIRE(ret == 0);                                                                           \
      REQUIRE(interrupted >= 1);                                                                   \
      REQUIRE(s.params().error == 0);                                                              \
      REQUIRE(s.params().copied == size);                                                          \
      REQUIRE(out.read_all() == data);                                                             \
    }                                                                                              \
    REQUIRE(census::until_within(before).within(before));                                          \
  }
