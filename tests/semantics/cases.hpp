// Helpers and policies of the loop-semantics table (tests/semantics/table.hpp:
// one TEST_CASE per rule of io_uring/loop.c, docs/semantics.md lists them),
// which every engine runs unchanged:
//
//   #define IOULOOP_RUNNER userspace_runner   // tests/semantics_userspace_test.cc
//   #define IOULOOP_RUNNER bpf_runner         // tests/semantics_bpf_test.cc, in the VM
//   #include "tests/semantics/table.hpp"
//
// A runner (tests/support/runners.hpp) has `session<Policy>`: a ring made
// with the given ring_options, a param region, and `run()` = one
// io_uring_enter of the loop.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <system_error>
#include <initializer_list>
#include <thread>

#include "iouloop/iouloop.hpp"
#include "tests/semantics/policies.hpp"
#include "tests/support/signals.hpp"

namespace sem_test {

using iouloop_test::after_ms;
using iouloop_test::signal_after;
using iouloop_test::signal_storm;
using iouloop_test::watch;

inline iouloop::ring_options small_cq() {
  iouloop::ring_options o;
  o.sq_entries = 8;
  o.cq_entries = 16;
  return o;
}

// A pipe that another thread fills, `per_round` bytes at a time, only
// while the thread that made this is asleep in io_uring_enter, the pipe is
// empty and `seen` (CQEs the policy has counted) says the previous round is
// over: what the reads wait for then arrives while the loop sleeps, never
// before it. Each round waits at most `limit_s` seconds for that sleep, then
// fills the pipe anyway (so the run ends) and counts the round as missed.
class fill_while_asleep {
 public:
  fill_while_asleep(unsigned rounds, unsigned per_round, int limit_s, const iouloop::u32& seen)
      : tid_(static_cast<pid_t>(::syscall(SYS_gettid))) {
    if (per_round > sizeof(bytes_)) throw std::invalid_argument("fill_while_asleep: at most 8 bytes a round");
    if (::pipe2(fds_, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "fill_while_asleep: pipe2");
    thread_ = std::thread([this, rounds, per_round, limit_s, &seen] {
      for (unsigned r = 0; r < rounds && !stop_.load(); ++r) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s);
        while (!stop_.load() && !(watch(seen) >= r * per_round && asleep_in_enter() && queued() == 0)) {
          if (std::chrono::steady_clock::now() > give_up) {
            missed_++;
            break;
          }
          struct timespec t{0, 200000};
          nanosleep(&t, nullptr);
        }
        if (::write(fds_[1], bytes_, per_round) != static_cast<ssize_t>(per_round)) std::abort();
      }
    });
  }
  ~fill_while_asleep() {
    stop_.store(true);
    thread_.join();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int read_fd() const { return fds_[0]; }
  unsigned missed() const { return missed_.load(); }

 private:
  // /proc/<pid>/task/<tid>/syscall names the system call a sleeping thread
  // is in ("running" while it runs; proc_pid_syscall, fs/proc/base.c).
  bool asleep_in_enter() const {
    char path[64], line[128] = {};
    std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", static_cast<int>(tid_));
    FILE* f = std::fopen(path, "re");
    if (!f) return false;
    const bool got = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    return got && std::strtol(line, nullptr, 10) == SYS_io_uring_enter;
  }
  int queued() const {
    int n = -1;
    return ::ioctl(fds_[0], FIONREAD, &n) == 0 ? n : -1;
  }

  static constexpr char bytes_[8] = {};
  pid_t tid_;
  int fds_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> missed_{0};
  std::thread thread_;
};

}  // namespace sem_test
