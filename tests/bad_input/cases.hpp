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
