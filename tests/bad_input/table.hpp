// The bad-input table, as plain test cases: included once per test binary,
// after `#define IOULOOP_RUNNER <runner type>` (tests/support/runners.hpp:
// userspace_runner, or bpf_runner with IOULOOP_PROGRAM_FOR declarations),
// so every engine runs the very same cases and a failure points at its own
// line here. Helpers and policies: tests/bad_input/cases.hpp.
#if !defined(IOULOOP_RUNNER)
#error "define IOULOOP_RUNNER (userspace_runner or bpf_runner) before including tests/bad_input/table.hpp"
#endif
#if defined(IOULOOP_TABLE_TESTS_BAD_INPUT_TABLE_HPP)
#error "tests/bad_input/table.hpp defines test cases: include it once per test binary"
#endif
#define IOULOOP_TABLE_TESTS_BAD_INPUT_TABLE_HPP

#include "tests/bad_input/cases.hpp"

TEST_CASE("bad input: rings the loop cannot drive", "[bad-input]") {
  using Runner = IOULOOP_RUNNER;
  using namespace iouloop;
  struct row {
    const char* what;
    u32 flags;
    const char* says;
  };
  const row r = GENERATE(values<row>({
      {"no DEFER_TASKRUN", abi::setup::no_sqarray, "lacks IORING_SETUP_DEFER_TASKRUN"},
      {"SQPOLL", abi::setup::sqpoll, "IORING_SETUP_SQPOLL, which the loop does not support"},
      {"IOPOLL", abi::setup::iopoll | abi::setup::single_issuer | abi::setup::defer_taskrun,
       "IORING_SETUP_IOPOLL, which the loop does not support"},
  }));
  CAPTURE(r.what);
  const census before = census::settled();
  ring_options o;
  o.flags = r.flags;
  Runner::expect_refused<sem::stop_at_once>(o, r.says);
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}
TEST_CASE("bad input: a step returning an invalid value ends with -EINVAL", "[bad-input]") {
  using Runner = IOULOOP_RUNNER;
  const census before = census::settled();
  {
    Runner::session<sem::return_value> s;
    s.params().value = 42;
    REQUIRE(s.run() == -EINVAL);
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}
TEST_CASE("bad input: a step asking for more SQEs than the SQ holds gets exactly the SQ", "[bad-input]") {
  using Runner = IOULOOP_RUNNER;
  const census before = census::settled();
  {
    iouloop::ring_options o;
    o.sq_entries = 64;
    o.cq_entries = 256;
    Runner::session<bad::oversubscribe> s(o);
    s.params().limit = 1000;
    REQUIRE(s.run() == 0);
    REQUIRE(s.params().prepared == 64);
    REQUIRE(s.params().submit_ret == 64);
    REQUIRE(s.params().completed == 64);
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}
TEST_CASE("bad input: CQ overflow loses nothing", "[bad-input]") {
  using Runner = IOULOOP_RUNNER;
  const census before = census::settled();
  {
    iouloop::ring_options o;
    o.sq_entries = 8;
    o.cq_entries = 16;
    Runner::session<sem::overflow_flush> s(o);
    s.params().value = 200;
    s.params().limit = 5000;
    REQUIRE(s.run() == 0);
    REQUIRE(s.params().completed == s.params().submitted);
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}
TEST_CASE("bad input: the ring fd closed under the engine gives -EBADF", "[bad-input]") {
  using Runner = IOULOOP_RUNNER;
  const census before = census::settled();
  {
    Runner::session<bad::forever> s;
    s.params().limit = 100000;
    const int dup_fd = ::dup(s.ring().fd()); /* keep the ring alive, lose the number */
    REQUIRE(::close(s.ring().fd()) == 0);
    REQUIRE(s.run() == -EBADF);
    REQUIRE(::dup2(dup_fd, s.ring().fd()) == s.ring().fd()); /* let the destructor close it */
    ::close(dup_fd);
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}
TEST_CASE("bad input: signals in the middle of a copy; resuming finishes with the right bytes", "[bad-input][signal]") {
  using Runner = IOULOOP_RUNNER;
  std::thread([] {}).join(); /* glibc caches a thread stack: not ours to count */
  const census before = census::settled();
  {
    const size_t size = size_t(64) << 20;
    auto data = testfiles::pattern(size, 11);
    testfiles::temp_file in("sig-in", data), out("sig-out");
    testfiles::buffers bufs(4096 * 4);
    Runner::session<cp::policy> s;
    s.params() = cp::make_params(in.fd(), out.fd(), size, bufs.addr(), 4096, 4);
    int interrupted = 0, ret = -EINTR;
    {
      bad_test::signal_storm storm(500);
      for (int i = 0; i < 100000 && ret == -EINTR; ++i) {
        ret = s.run();
        if (ret == -EINTR) interrupted++;
      }
    }
    CAPTURE(interrupted);
    REQUIRE(ret == 0);
    REQUIRE(interrupted >= 1);
    REQUIRE(s.exit().error == 0);
    REQUIRE(s.params().copied == size);
    REQUIRE(out.read_all() == data);
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}
