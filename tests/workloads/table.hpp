// The workload table, as plain test cases: included once per test binary,
// after `#define IOULOOP_RUNNER <runner type>` (tests/support/runners.hpp:
// userspace_runner, or bpf_runner with IOULOOP_PROGRAM_FOR declarations),
// so every engine runs the very same cases and a failure points at its own
// line here. Helpers and policies: tests/workloads/cases.hpp.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including tests/workloads/table.hpp"
#endif
#if defined(IOULOOP_TABLE_TESTS_WORKLOADS_TABLE_HPP)
#error "tests/workloads/table.hpp defines test cases: include it once per test binary"
#endif
#define IOULOOP_TABLE_TESTS_WORKLOADS_TABLE_HPP

#include "tests/workloads/cases.hpp"

TEST_CASE("NOP pipeline: N in flight, M total", "[workload][nop]") {
  using Runner = IOULOOP_RUNNER;
  auto [total, depth] =
      GENERATE(table<iouloop::u32, iouloop::u32>({{1, 1}, {100, 1}, {1000, 8}, {5000, 32}, {640, 64}, {7, 100}}));
  CAPTURE(total, depth);
  Runner::session<nop::policy> s;
  s.params() = nop::params{total, depth, 0, 0, 0};
  REQUIRE(s.run() == 0);
  REQUIRE(s.params().completed == total);
  REQUIRE(s.params().submitted == total);
  REQUIRE(s.params().errors == 0);
}
TEST_CASE("NOP pipeline written by hand behaves the same", "[workload][nop]") {
  using Runner = IOULOOP_RUNNER;
  Runner::session<nop::nop_by_hand> s;
  s.params() = nop::params{3000, 16, 0, 0, 0};
  REQUIRE(s.run() == 0);
  REQUIRE(s.params().completed == 3000);
}
// The copies: cp::policy (each block a read linked to a write),
// cp::unlinked_policy (the write submitted once the read's CQE is seen) and
// cp::serial_policy (one request in flight: it ignores depth).
TEMPLATE_TEST_CASE("file copy: several blocks in flight, byte for byte", "[workload][cp]", cp::policy,
                   cp::unlinked_policy, cp::serial_policy) {
  using Runner = IOULOOP_RUNNER;
  auto [size, block, depth] = GENERATE(table<size_t, iouloop::u32, iouloop::u32>({
      {0, 4096, 4},
      {1, 4096, 4},
      {4095, 4096, 1},
      {4096, 4096, 2},
      {(1 << 20) + 123, 4096, 8},
      {(1 << 20) + 123, 65536, 1},
      {(3 << 20) + 7, 16384, 64},
      {(8 << 20), 131072, 16},
  }));
  CAPTURE(size, block, depth);
  auto o = workload::run_copy<Runner, TestType>(size, block, depth, size * 31 + block);
  REQUIRE(o.ret == 0);
  REQUIRE(o.exit.error == 0);
  REQUIRE(o.end.copied == size);
  REQUIRE(o.end.in_flight == 0);
  REQUIRE(o.out.size() == size);
  REQUIRE(o.out == testfiles::pattern(size, size * 31 + block));
}
TEMPLATE_TEST_CASE("file copy stops with the error when a write fails", "[workload][cp]", cp::policy,
                   cp::unlinked_policy, cp::serial_policy) {
  using Runner = IOULOOP_RUNNER;
  auto data = testfiles::pattern(100000, 5);
  testfiles::temp_file in("cp-in", data);
  testfiles::buffers bufs(4 * 8192);
  typename Runner::template session<TestType> s;
  // stdin-like bad fd for the output
  s.params() = cp::make_params(in.fd(), 1 << 20, data.size(), bufs.addr(), 8192, 4);
  // loop.fail(): run() returns the first failure, the exit record says where
  REQUIRE(s.run() == -EBADF);
  REQUIRE(s.exit().error == -EBADF);
  REQUIRE(std::string(s.exit().file).ends_with("cp_policy.hpp"));
  REQUIRE(s.exit().line > 0);
  REQUIRE(s.params().in_flight == 0);
}
TEMPLATE_TEST_CASE("file copy of a source shorter than claimed redoes the short blocks, then says EIO",
                   "[workload][cp]", cp::policy, cp::unlinked_policy) {
  using Runner = IOULOOP_RUNNER;
  const size_t claimed = 200000;
  auto data = testfiles::pattern(claimed / 2 + 100, 6);
  testfiles::temp_file in("cp-in", data), out("cp-out");
  testfiles::buffers bufs(4 * 16384);
  typename Runner::template session<TestType> s;
  s.params() = cp::make_params(in.fd(), out.fd(), claimed, bufs.addr(), 16384, 4);
  REQUIRE(s.run() == -EIO);
  REQUIRE(s.exit().error == -EIO);
  REQUIRE(s.params().redone >= cp::max_redo);
  REQUIRE(s.params().in_flight == 0);
  REQUIRE(s.params().copied <= data.size());
}
TEST_CASE("serial file copy of a source shorter than claimed copies what is there, then says EIO", "[workload][cp]") {
  using Runner = IOULOOP_RUNNER;
  const size_t claimed = 200000;
  auto data = testfiles::pattern(claimed / 2 + 100, 7);
  testfiles::temp_file in("cp-in", data), out("cp-out");
  testfiles::buffers bufs(16384);
  typename Runner::template session<cp::serial_policy> s;
  s.params() = cp::make_params(in.fd(), out.fd(), claimed, bufs.addr(), 16384, 1);
  // the read at the source's end returns 0 (serial_read_done)
  REQUIRE(s.run() == -EIO);
  REQUIRE(s.exit().error == -EIO);
  REQUIRE(s.params().redone == 0);
  REQUIRE(s.params().in_flight == 0);
  REQUIRE(s.params().copied == data.size());
  REQUIRE(out.read_all() == data);
}
TEST_CASE("serial file copy refuses params with no buffer", "[workload][cp]") {
  using Runner = IOULOOP_RUNNER;
  auto data = testfiles::pattern(5000, 8);
  testfiles::temp_file in("cp-in", data), out("cp-out");
  testfiles::buffers bufs(4096);
  typename Runner::template session<cp::serial_policy> s;
  s.params() = cp::make_params(in.fd(), out.fd(), data.size(), bufs.addr(), 4096, 0);  // depth 0: no block
  REQUIRE(s.run() == -EINVAL);
  REQUIRE(s.params().copied == 0);
  REQUIRE(s.params().in_flight == 0);
}
