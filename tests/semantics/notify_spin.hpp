// One case for the kernel's engines only (the BPF and native tests include
// it after tests/semantics/table.hpp, with the same IOULOOP_RUNNER): the
// userspace engine sleeps in io_uring_enter's own wait, which cannot spin
// this way (docs/semantics.md, known difference G).
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (bpf_runner or kernel_runner) before including tests/semantics/notify_spin.hpp"
#endif
#pragma once

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

#include "tests/semantics/cases.hpp"

// A sleeping loop does not spin when rings the task used are closed
// (detail::stale_wake_guard, iouloop/policy.hpp). Each round, this thread
// uses `rings` rings (userspace engine), then sleeps in the kernel loop (a
// 30 s timeout) while another thread closes them. Each close has
// io_ring_exit_work queue io_tctx_exit_cb on this task with TWA_SIGNAL
// (io_uring/io_uring.c), which wakes the loop early, about twice per ring.
// task_work_add() queues the work before it sets TIF_NOTIFY_SIGNAL; when the
// work has run before the flag arrives, __io_run_loop (io_uring/loop.c) never
// clears it (it runs io_run_task_work() only while work is queued), so every
// later sleep returns at once and the loop calls the step again and again,
// until more task work, a signal, or the task leaving the kernel clears the
// flag. On Debian's 7.2.13 that happens in about one round in four
// (kernel/README.md, "0003"): runs of hundreds to thousands of steps, in one
// io_uring_enter, that find nothing new. The guard ends such an enter after
// stale_wake_limit early calls in a row, and the engine enters again (the
// way back to user space clears the flag). The check: the policy never sees
// that many empty steps in a row within one enter. On a kernel with
// kernel/0003 nothing spins and the guard has nothing to do. Each round
// prints its steps, re-entries and longest empty run.
TEST_CASE("kernel loop: a sleep does not spin when rings this task used are closed", "[notify-spin]") {
  using Runner = IOULOOP_RUNNER;
  constexpr int rounds = 16, rings = 40;
  int reentered = 0;
  iouloop::u32 longest = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::unique_ptr<userspace_runner::session<sem::submit_count>>> used;
    for (int k = 0; k < rings; ++k) {
      used.push_back(std::make_unique<userspace_runner::session<sem::submit_count>>());
      used.back()->params().limit = 20;
      REQUIRE(used.back()->run() == 0);
    }
    Runner::session<sem::interrupted_sleep> s;
    s.params().limit = 0xffffffffu;
    int ret;
    {
      sem_test::after_ms closer(
          0, [&] { return sem_test::watch(s.params().steps) >= 1; },
          [&] {
            for (auto& u : used) {
              u.reset();
              usleep(500);
            }
          });
      sem_test::signal_after sig(400, SIGUSR1, [&] { return sem_test::watch(s.params().steps) >= 1; });
      ret = s.run();
    }
    const iouloop::u32 steps = s.params().steps, empty_run = s.params().most_empty_run, reentries = s.exit().reentries;
    std::printf("notify-spin: round %d: %u steps, %u re-entries, longest empty run %u, for %d rings closed\n", round,
                steps, reentries, empty_run, rings);
    CAPTURE(round, steps, reentries, empty_run);
    REQUIRE(ret == -EINTR);
    CHECK(empty_run < iouloop::detail::stale_wake_limit);
    if (reentries > 0) ++reentered;
    if (empty_run > longest) longest = empty_run;
  }
  std::printf("notify-spin: %d of %d rounds entered the loop again; the longest empty run: %u steps\n", reentered,
              rounds, longest);
}
