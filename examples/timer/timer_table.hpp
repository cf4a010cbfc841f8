// The timer cases, as plain test cases: included once per test binary,
// after `#define IOULOOP_RUNNER <runner type>` (tests/support/runners.hpp:
// userspace_runner, or bpf_runner with IOULOOP_PROGRAM_FOR declarations),
// so every engine runs the very same cases and a failure points at its own
// line here. Helpers and policies: examples/timer/timer_cases.hpp.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including examples/timer/timer_table.hpp"
#endif
#if defined(IOULOOP_TABLE_EXAMPLES_TIMER_TIMER_TABLE_HPP)
#error "examples/timer/timer_table.hpp defines test cases: include it once per test binary"
#endif
#define IOULOOP_TABLE_EXAMPLES_TIMER_TIMER_TABLE_HPP

#include "examples/timer/timer_cases.hpp"

TEST_CASE("timer: N ticks of P ms, one fsynced record each, reads with and without data", "[timer]") {
  using Runner = IOULOOP_RUNNER;
  auto [period, ticks, chunks] = GENERATE(table<iouloop::u32, iouloop::u32, iouloop::u32>(
      {{20, 0, 0}, {20, 1, 1}, {20, 5, 2}, {25, 4, 0}, {30, 3, 3}, {40, 6, 5}}));
  CAPTURE(period, ticks, chunks);
  auto o = timer_test::run<Runner>(period, ticks, chunks);
  CAPTURE(o.elapsed_ms, o.end.steps, o.exit.error);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.ticked == ticks);
  REQUIRE(o.end.written == ticks);
  REQUIRE(o.end.synced == ticks);
  REQUIRE(o.end.records_dropped == 0);
  REQUIRE(o.end.reads_data == chunks);
  REQUIRE(o.end.timeouts_cancelled == chunks);
  REQUIRE(o.end.reads_timed_out == ticks - chunks);
  REQUIRE(o.end.timeouts_fired == ticks - chunks);
  REQUIRE(o.end.bytes_read == iouloop::u64(chunks) * timer::input_bytes);
  REQUIRE(o.end.errors == 0);
  REQUIRE(o.exit.error == 0);
  REQUIRE(o.end.in_flight == 0);
  REQUIRE(o.log == timer_test::expected_log(ticks));
  REQUIRE(timer_test::lasted_at_least(o, period, ticks));
  REQUIRE(o.end.steps >= ticks);
  // The kernel's loop may wake the step early any number of times
  // (docs/semantics.md, known differences A and G): the upper bound holds
  // where iouloop decides when to sleep, the userspace engine.
  if constexpr (!Runner::kernel) REQUIRE(o.end.steps <= timer_test::max_steps(ticks));
}
TEST_CASE("timer: a read with data completes and its link timeout ends with -ECANCELED", "[timer][link_timeout]") {
  using Runner = IOULOOP_RUNNER;
  auto o = timer_test::run<Runner>(20, 3, 3);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.reads_data == 3);
  REQUIRE(o.end.last_read_res == iouloop::s32(timer::input_bytes));
  REQUIRE(o.end.timeouts_cancelled == 3);
  REQUIRE(o.end.last_timeout_res == -ECANCELED);
  REQUIRE(o.end.reads_timed_out == 0);
  REQUIRE(o.end.timeouts_fired == 0);
  REQUIRE(o.end.errors == 0);
}
TEST_CASE(
    "timer: a read with no data is cancelled (-ECANCELED) when its link timeout fires "
    "(-ETIME)",
    "[timer][link_timeout]") {
  using Runner = IOULOOP_RUNNER;
  auto o = timer_test::run<Runner>(40, 3, 0);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.reads_timed_out == 3);
  REQUIRE(o.end.last_read_res == -ECANCELED);
  REQUIRE(o.end.timeouts_fired == 3);
  REQUIRE(o.end.last_timeout_res == -ETIME);
  REQUIRE(o.end.reads_data == 0);
  REQUIRE(o.end.timeouts_cancelled == 0);
  REQUIRE(o.end.errors == 0);
  // each read waited out its timeout (half a period) within its tick
  REQUIRE(timer_test::lasted_at_least(o, 40, 3));
}
TEST_CASE("timer: the loop sleeps between ticks instead of spinning", "[timer][sleep]") {
  using Runner = IOULOOP_RUNNER;
  const iouloop::u32 period = 50, ticks = 4;
  auto o = timer_test::run<Runner>(period, ticks, 1);
  REQUIRE(o.ret == 0);
  REQUIRE(o.end.ticked == ticks);
  REQUIRE(timer_test::lasted_at_least(o, period, ticks));
  // about 200 ms: a spinning loop would take tens of thousands of steps.
  // Only where iouloop sleeps: the kernel's loop can spin on its own
  // (docs/semantics.md, known difference G; kernel/0003-...patch).
  CAPTURE(o.end.steps, o.elapsed_ms);
  if constexpr (!Runner::kernel) REQUIRE(o.end.steps <= timer_test::max_steps(ticks));
}
TEST_CASE(
    "timer: failed writes are counted with their errno; the fsyncs they carry are "
    "cancelled; ticking goes on",
    "[timer][errors]") {
  using Runner = IOULOOP_RUNNER;
  const int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(read_only >= 0);
  auto o = timer_test::run<Runner>(20, 3, 1, read_only);
  ::close(read_only);
  // the first failure is loop.fail()'s: run() returns it, the record says where
  REQUIRE(o.ret == -EBADF);
  REQUIRE(o.end.ticked == 3);
  REQUIRE(o.end.written == 0);
  REQUIRE(o.end.synced == 0);
  REQUIRE(o.end.errors == 6); /* each write -EBADF, each linked fsync -ECANCELED */
  REQUIRE(o.exit.error == -EBADF);
  REQUIRE(std::string(o.exit.file) == "examples/timer/timer_policy.hpp");
  REQUIRE(o.exit.line > 0);
  REQUIRE(o.exit.steps == o.end.steps);
  REQUIRE(o.end.reads_data == 1);
  REQUIRE(o.end.reads_timed_out == 2);
  REQUIRE(o.end.in_flight == 0);
}
