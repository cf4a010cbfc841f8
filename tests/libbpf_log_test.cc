// libbpf's print callback stays the application's: iouloop borrows it only
// while its own libbpf calls run, forwards every message to the
// application's callback, captures the text for its errors, and puts the
// callback back (engine/bpf.hpp detail::libbpf_log). Opening an object
// needs no kernel support, so this runs on any host.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdarg>
#include <cstdio>
#include <string>

#include "examples/nop/nop_bpf.bpf.h"
#include "iouloop/engine/bpf.hpp"

namespace {
std::string heard;
int app_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  heard += buf;
  return 0;
}
}  // namespace

TEST_CASE("libbpf's print callback is the application's before, during and after iouloop's calls", "[libbpf]") {
  libbpf_set_print(app_print);
  heard.clear();
  {
    iouloop::bpf_object ok(nop_bpf::image(), "nop");  // opens without a kernel
    REQUIRE(ok.program() != nullptr);
  }
  static const unsigned char junk[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  const iouloop::bpf_image bad{junk, sizeof junk, "junk"};
  REQUIRE_THROWS_WITH(iouloop::bpf_object(bad, "nop"),
                      Catch::Matchers::ContainsSubstring("cannot open BPF object junk"));
  // What libbpf said reached the application too (forwarded, not swallowed).
  CAPTURE(heard);
  REQUIRE_FALSE(heard.empty());
  // And the callback is the application's again.
  REQUIRE(libbpf_set_print(nullptr) == app_print);
}
