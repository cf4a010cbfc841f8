// The loop-semantics table on the BPF engine: the same cases as on the
// userspace engine (tests/semantics/cases.hpp), run by the kernel's loop.
#include "tests/semantics/cases.hpp"
#include "tests/semantics/semantics_bpf.bpf.h"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(sem::stop_at_once, semantics_bpf::programs::stop_at_once);
IOULOOP_PROGRAM_FOR(sem::continue_until_limit, semantics_bpf::programs::continue_until_limit);
IOULOOP_PROGRAM_FOR(sem::return_value, semantics_bpf::programs::return_value);
IOULOOP_PROGRAM_FOR(sem::sleep_until_cqes, semantics_bpf::programs::sleep_until_cqes);
IOULOOP_PROGRAM_FOR(sem::wait_idx_lifetime, semantics_bpf::programs::wait_idx_lifetime);
IOULOOP_PROGRAM_FOR(sem::submit_count, semantics_bpf::programs::submit_count);
IOULOOP_PROGRAM_FOR(sem::overflow_flush, semantics_bpf::programs::overflow_flush);
IOULOOP_PROGRAM_FOR(sem::interrupted_sleep, semantics_bpf::programs::interrupted_sleep);
IOULOOP_PROGRAM_FOR(sem::signal_with_completions, semantics_bpf::programs::signal_with_completions);
IOULOOP_PROGRAM_FOR(sem::timer_chain, semantics_bpf::programs::timer_chain);
IOULOOP_PROGRAM_FOR(sem::busy_poll, semantics_bpf::programs::busy_poll);
IOULOOP_PROGRAM_FOR(sem::assumes_full_batch, semantics_bpf::programs::assumes_full_batch);
IOULOOP_PROGRAM_FOR(sem::staged_value, semantics_bpf::programs::staged_value);

#define IOULOOP_RUNNER bpf_runner
#include "tests/semantics/table.hpp"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

// A measurement, not a check: hidden from the default run (Catch2's "[.]"),
// for kernel/0003-io_uring-loop-clear-a-task-work-notification-with-no-work.patch.
// Each round, this thread uses `rings` rings (userspace engine), then sleeps
// in the kernel loop (a 30 s timeout) while another thread closes them. Each
// close has io_ring_exit_work queue io_tctx_exit_cb on this task with
// TWA_SIGNAL, which wakes the loop early, about twice per ring. When the
// notification flag is set after its work already ran, __io_run_loop never
// clears it (it runs io_run_task_work() only when work is queued), and every
// sleep returns at once: the loop runs the step thousands of times, until
// the signal sent 400 ms after the first step ends it.
//   bazel build //tests:semantics_bpf_test_static
//   tools/vm/run.sh --args '"[notify-spin]"' $PWD/bazel-bin/tests/semantics_bpf_test_static
// (IOULOOP_VM_KERNEL=PATH in front for a kernel built by kernel/test-kernel.sh.)
TEST_CASE("kernel loop: rings closed by another thread during a sleep (a measurement)", "[.][notify-spin]") {
  constexpr int rounds = 32, rings = 40;
  int spun = 0;
  iouloop::u32 most = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::unique_ptr<userspace_runner::session<sem::submit_count>>> used;
    for (int k = 0; k < rings; ++k) {
      used.push_back(std::make_unique<userspace_runner::session<sem::submit_count>>());
      used.back()->params().limit = 20;
      REQUIRE(used.back()->run() == 0);
    }
    bpf_runner::session<sem::interrupted_sleep> s;
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
    REQUIRE(ret == -EINTR);
    const iouloop::u32 steps = s.params().steps;
    if (steps > 10u * rings) ++spun;
    if (steps > most) most = steps;
    std::printf("notify-spin: round %d: %u steps for %d rings closed\n", round, steps, rings);
  }
  std::printf("notify-spin: %d of %d rounds ran more than %d steps (the most: %u)\n", spun, rounds, 10 * rings, most);
}
