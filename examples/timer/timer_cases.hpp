// Timer cases shared by the engines: IOULOOP_TIMER_CASES(Runner) defines them
// (examples/timer/timer_test.cc on the userspace engine, timer_bpf_test.cc
// on the BPF engine in the VM).
//
// The input pipe is filled before the loop starts with `chunks` pieces of
// exactly timer::input_bytes, so the reads of ticks 1..chunks get data and
// the later ones find the pipe empty and time out: both linked-timeout paths,
// with no race against a feeding thread.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "examples/timer/timer_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/files.hpp"

namespace timer_test {

using iouloop::u32;

// A blocking pipe (an O_NONBLOCK one would make an empty read fail with
// -EAGAIN at once instead of waiting for its timeout).
class input_pipe {
 public:
  explicit input_pipe(u32 chunks) {
    if (::pipe2(fd_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const std::string chunk(timer::input_bytes, 'x');
    for (u32 i = 0; i < chunks; ++i)
      if (::write(fd_[1], chunk.data(), chunk.size()) != ssize_t(chunk.size()))
        throw std::runtime_error("filling the input pipe failed");
  }
  ~input_pipe() {
    ::close(fd_[0]);
    ::close(fd_[1]);  // open until the end: an empty pipe must block, not say EOF
  }
  input_pipe(const input_pipe&) = delete;
  input_pipe& operator=(const input_pipe&) = delete;
  int read_fd() const { return fd_[0]; }

 private:
  int fd_[2] = {-1, -1};
};

struct outcome {
  int ret;
  timer::params end;
  iouloop::exit_record exit;
  std::string log;
  double elapsed_ms;
};

// Runs `ticks` ticks of `period_ms` (reads time out after half a period) on
// Runner, with `chunks` reads' worth of input waiting in the pipe. A
// `log_fd` >= 0 replaces the log file (to make the writes fail).
template <class Runner>
outcome run(u32 period_ms, u32 ticks, u32 chunks, int log_fd = -1) {
  testfiles::temp_file log("timer-log");
  input_pipe in(chunks);
  typename Runner::template session<timer::policy> s;
  s.params() = timer::make_params(log_fd >= 0 ? log_fd : log.fd(), in.read_fd(), period_ms, period_ms / 2, ticks);
  outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  o.ret = s.run();
  o.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  o.end = s.params();
  o.exit = s.exit();
  const auto bytes = log.read_all();
  o.log.assign(bytes.begin(), bytes.end());
  return o;
}

// What the log must hold after `ticks` ticks, written independently of the
// policy's digit formatting.
inline std::string expected_log(u32 ticks) {
  std::string s;
  char line[32];
  for (u32 n = 1; n <= ticks; ++n) {
    std::snprintf(line, sizeof line, "tick %06u\n", n);
    s += line;
  }
  return s;
}

// Relative timeouts never fire early, and each tick is armed after the
// previous one fired: the run lasts at least ticks × period. The tolerance
// only covers clock granularity; there is no upper bound (speed is no test).
inline bool lasted_at_least(const outcome& o, u32 period_ms, u32 ticks) {
  return o.elapsed_ms >= double(ticks) * period_ms - 1.0;
}

// A loop that sleeps takes a few steps per tick: about one per completion (5
// per tick; seen: 5 on the userspace engine, 6 on the BPF one, whose kernel
// wait also wakes for task work). The bound allows twice that; a spinning
// loop would take thousands of steps per period.
inline u32 max_steps(u32 ticks) { return 2 + ticks * 2 * timer::sqes_per_tick; }

}  // namespace timer_test
