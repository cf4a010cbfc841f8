// Signals sent to a test's own thread from another thread, for the tables
// that check how the engines take them (semantics, bad input).
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <thread>

#include "iouloop/abi.hpp"

namespace iouloop_test {

inline void on_sigusr1(int) {}
// SIGUSR1 with an empty handler and no SA_RESTART: a wait sees EINTR.
inline void catch_sigusr1() {
  struct sigaction sa{};
  sa.sa_handler = on_sigusr1;
  sigaction(SIGUSR1, &sa, nullptr);
}

// Sends `signo` to the calling thread `ms` after `ready()` first holds
// (polled every 100 us, for 30 s at most), from another thread. Tests pass a
// `ready` that looks at the loop's own progress (params, the CQ), so that
// the signal lands where the test means it to whatever the machine's load.
// SIGUSR1 gets an empty handler; other signals keep their disposition.
class signal_after {
 public:
  explicit signal_after(int ms, int signo = SIGUSR1, std::function<bool()> ready = {}) : target_(pthread_self()) {
    if (signo == SIGUSR1) catch_sigusr1();
    thread_ = std::thread([this, ms, signo, ready] {
      wait_until(ready);
      struct timespec t{ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&t, nullptr);
      pthread_kill(target_, signo);
    });
  }
  ~signal_after() { thread_.join(); }

  static void wait_until(const std::function<bool()>& ready) {
    for (int i = 0; ready && i < 300000 && !ready(); ++i) {
      struct timespec t{0, 100000};
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
    for (int s : signals) {
      if (s == SIGUSR1) catch_sigusr1();
      signals_[n++] = s;
    }
    thread_ = std::thread([this, n, us, enough, done] {
      for (unsigned i = 0; !stop_.load(); ++i) {
        struct timespec t{0, us * 1000};
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
  after_ms(int ms, std::function<bool()> ready, F f)
      : thread_([ms, ready, f] {
          signal_after::wait_until(ready);
          struct timespec t{ms / 1000, (ms % 1000) * 1000000L};
          nanosleep(&t, nullptr);
          f();
        }) {}
  ~after_ms() { thread_.join(); }

 private:
  std::thread thread_;
};

}  // namespace iouloop_test
