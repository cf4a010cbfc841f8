// The README's code, run as printed (tests/readme/extract.py copies it out):
// the nop policy with the README's host code, and the tee policy on files,
// on the userspace engine (readme_test: host and VM) and on the BPF engine
// (readme_bpf_test: VM only).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <string>

#include "tests/readme/nop.hpp"
#include "tests/readme/mirror.hpp"
#include "tests/support/files.hpp"
#include "tests/support/runners.hpp"

#if defined(IOULOOP_WITH_BPF)
#include "tests/readme/readme_bpf.bpf.h"
IOULOOP_PROGRAM_FOR(nop::policy, readme_bpf::programs::nop);
IOULOOP_PROGRAM_FOR(mirror::policy, readme_bpf::programs::mirror);
#define README_RUNNER bpf_runner
#else
#include "tests/readme/nop_host.inc"
#define README_RUNNER userspace_runner
TEST_CASE("README: the host code runs the nop policy to the end", "[readme]") { REQUIRE(readme_host_nop()); }
#endif

TEST_CASE("README: the nop policy completes every NOP", "[readme]") {
  README_RUNNER::session<nop::policy> s;
  s.params() = nop::params{.total = 5000, .depth = 16};
  REQUIRE(s.run() == 0);
  REQUIRE(s.params().completed == 5000);
  REQUIRE(s.params().errors == 0);
}

namespace {
struct tee_files {
  std::vector<unsigned char> data;
  testfiles::temp_file in, a, b;
  testfiles::buffers bufs;
  tee_files(size_t size, iouloop::u32 block)
      : data(testfiles::pattern(size, size + block)),
        in("tee-in", data),
        a("tee-a"),
        b("tee-b"),
        bufs(size_t(mirror::slots) * block) {}
  mirror::params params(iouloop::u32 block, int fd_b) const {
    mirror::params p{};
    p.fd_in = in.fd();
    p.fd_a = a.fd();
    p.fd_b = fd_b;
    p.block = block;
    p.size = data.size();
    p.buffers = bufs.addr();
    return p;
  }
};
}  // namespace

TEST_CASE("README: the tee policy writes the input to both files", "[readme]") {
  for (auto [size, block] :
       {std::pair<size_t, iouloop::u32>{0, 4096}, {1, 4096}, {100000, 4096}, {(1 << 20) + 3, 65536}}) {
    CAPTURE(README_RUNNER::name, size, block);
    tee_files f(size, block);
    README_RUNNER::session<mirror::policy> s;
    s.params() = f.params(block, f.b.fd());
    const int ret = s.run();
    INFO(iouloop::describe(s.exit(), ret));
    REQUIRE(ret == 0);
    REQUIRE(s.params().done == size);
    REQUIRE(s.params().in_flight == 0);
    REQUIRE(f.a.read_all() == f.data);
    REQUIRE(f.b.read_all() == f.data);
  }
}

TEST_CASE("README: a tee whose second file cannot be written fails with the errno, file and line", "[readme]") {
  tee_files f(100000, 4096);
  const int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(read_only >= 0);
  README_RUNNER::session<mirror::policy> s;
  s.params() = f.params(4096, read_only);
  const int ret = s.run();
  ::close(read_only);
  const std::string said = iouloop::describe(s.exit(), ret);
  CAPTURE(README_RUNNER::name, said);
  REQUIRE(ret == -EBADF);
  REQUIRE(s.exit().error == -EBADF);
  REQUIRE(std::string(s.exit().file).ends_with("tests/readme/mirror.hpp"));
  REQUIRE(s.exit().line > 0);
  REQUIRE(s.exit().steps > 0);
  REQUIRE(said.find("mirror.hpp:" + std::to_string(s.exit().line)) != std::string::npos);
  REQUIRE(said.find("EBADF") != std::string::npos);
  REQUIRE(s.params().in_flight == 0);
}
