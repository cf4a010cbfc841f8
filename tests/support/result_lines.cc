// The Catch2 main for iouloop tests, and a listener that prints one machine-readable line per test case:
//   @@iouloop-test PASS|FAIL|SKIP <binary>: <test case name>
// tools/test.sh counts these lines, from Bazel's logs and from the VM's
// console alike, to print the suite's "N passed, N failed, N skipped".
#include <catch2/catch_test_case_info.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>

#include <errno.h>  // program_invocation_short_name

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string binary_name() {
  const char* target = std::getenv("TEST_TARGET");  // set by bazel test
  return target ? target : program_invocation_short_name;
}

class result_lines : public Catch::EventListenerBase {
 public:
  using EventListenerBase::EventListenerBase;
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    const auto& t = stats.totals.testCases;
    const char* verdict = t.failed ? "FAIL" : (t.skipped ? "SKIP" : "PASS");
    std::printf("@@iouloop-test %s %s: %s\n", verdict, binary_name().c_str(), stats.testInfo->name.c_str());
    std::fflush(stdout);
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(result_lines)

#include <catch2/catch_session.hpp>

int main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
