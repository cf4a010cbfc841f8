// The timer example on the BPF engine (run in the VM): the same cases as on
// the userspace engine, and a differential run of both engines.
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(timer::policy, timer_bpf::programs::timer);

#define IOULOOP_RUNNER bpf_runner
#include "examples/timer/timer_table.hpp"

TEST_CASE("differential: the timer ends with the same counters and log on both engines", "[differential][timer][bpf]") {
  require_bpf_engine();
  auto [period, ticks, chunks] =
      GENERATE(table<iouloop::u32, iouloop::u32, iouloop::u32>({{20, 1, 0}, {20, 4, 2}, {30, 3, 3}}));
  CAPTURE(period, ticks, chunks);
  auto b = timer_test::run<bpf_runner>(period, ticks, chunks);
  auto u = timer_test::run<userspace_runner>(period, ticks, chunks);
  CAPTURE(b.end.steps, u.end.steps, b.elapsed_ms, u.elapsed_ms);
  REQUIRE(b.ret == u.ret);
  REQUIRE(b.end.ticked == u.end.ticked);
  REQUIRE(b.end.written == u.end.written);
  REQUIRE(b.end.synced == u.end.synced);
  REQUIRE(b.end.reads_data == u.end.reads_data);
  REQUIRE(b.end.reads_timed_out == u.end.reads_timed_out);
  REQUIRE(b.end.timeouts_cancelled == u.end.timeouts_cancelled);
  REQUIRE(b.end.timeouts_fired == u.end.timeouts_fired);
  REQUIRE(b.end.records_dropped == u.end.records_dropped);
  REQUIRE(b.end.errors == u.end.errors);
  REQUIRE(b.exit.error == u.exit.error);
  REQUIRE(b.exit.line == u.exit.line);
  REQUIRE(b.end.last_read_res == u.end.last_read_res);
  REQUIRE(b.end.last_timeout_res == u.end.last_timeout_res);
  REQUIRE(b.end.bytes_read == u.end.bytes_read);
  REQUIRE(b.end.in_flight == u.end.in_flight);
  REQUIRE(b.log == u.log);
}
