// The two owners (engine/owned.hpp) and what is built from them: a ring and
// a param region move with defaulted moves and leave nothing behind, also
// when their constructor throws half-way.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>
#include <utility>

#include "examples/nop/nop_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/census.hpp"

namespace {
bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool mapped(void* p) {
  unsigned char v;
  return ::mincore(p, 4096, &v) == 0;  // ENOMEM once unmapped
}
}  // namespace

TEST_CASE("unique_fd closes once, moves, releases", "[owned]") {
  int raw = ::dup(0);
  REQUIRE(raw >= 0);
  {
    iouloop::unique_fd a(raw);
    iouloop::unique_fd b(std::move(a));
    REQUIRE(a.get() == -1);
    REQUIRE(b.get() == raw);
    iouloop::unique_fd c;
    c = std::move(b);
    REQUIRE(fd_open(raw));
  }
  REQUIRE_FALSE(fd_open(raw));
  iouloop::unique_fd d(::dup(0));
  const int kept = d.release();
  REQUIRE(d.get() == -1);
  REQUIRE(fd_open(kept));
  ::close(kept);
}

TEST_CASE("mapping unmaps once and moves", "[owned]") {
  void* p;
  {
    iouloop::mapping a = iouloop::mapping::anonymous(8192, "test memory");
    p = a.data();
    REQUIRE(mapped(p));
    iouloop::mapping b(std::move(a));
    REQUIRE_FALSE(a);
    REQUIRE(b.addr() == reinterpret_cast<iouloop::u64>(p));
    REQUIRE(mapped(p));
  }
  REQUIRE_FALSE(mapped(p));
  REQUIRE_THROWS_WITH(iouloop::mapping::map(4096, PROT_READ, MAP_SHARED, -1, 0, "nothing"),
                      Catch::Matchers::ContainsSubstring("mmap of nothing"));
}

// The census the leak checks use: a mapping left behind counts, the C
// library's [heap] does not (tests/support/census.hpp).
TEST_CASE("census counts a mapping left behind, not the heap", "[owned][census]") {
#if defined(__SANITIZE_ADDRESS__)
  SKIP("under AddressSanitizer the census does not count mappings");
#endif
  const census before = census::now();
  void* m = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(m != MAP_FAILED);
  CHECK(census::now().mappings == before.mappings + 1);
  ::munmap(m, 4096);
  CHECK(census::now() == before);
  // Every line of /proc/self/maps but the [heap] one.
  const std::string maps = maps_text();
  int lines = 0, heap = 0;
  for (size_t at = 0, end; (end = maps.find('\n', at)) != std::string::npos; at = end + 1) {
    lines++;
    heap += end - at >= 6 && maps.compare(end - 6, 6, "[heap]") == 0;
  }
  CAPTURE(lines, heap);
  CHECK(census::now().mappings == lines - heap);
  CHECK(maps_added(maps, maps).empty());
}

TEST_CASE("a ring and a param region move, and a failed set-up leaves nothing", "[owned]") {
  const census before = census::now();
  {
    iouloop::ring a;
    const int fd = a.fd();
    iouloop::ring b(std::move(a));
    REQUIRE(a.fd() == -1);
    REQUIRE(b.fd() == fd);
    iouloop::param_region<nop::policy> p(nop::params{.total = 3, .depth = 1});
    iouloop::param_region<nop::policy> q(std::move(p));
    REQUIRE(q->total == 3u);
    iouloop::userspace_engine<nop::policy> e(b, q);
    REQUIRE(e.run() == 0);
    REQUIRE(q->completed == 3u);
  }
  iouloop::ring_options bad;
  bad.sq_entries = 1u << 30;  // the kernel refuses: nothing may stay open
  REQUIRE_THROWS(iouloop::ring(bad));
  const census after = census::now();
  CAPTURE(before, after);
  REQUIRE(after.fds == before.fds);
  REQUIRE(after.mappings == before.mappings);
}
