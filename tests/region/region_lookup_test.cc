// bpf_io_uring_get_region's answers, as a step sees them: the pointer for a
// size within the region, NULL past it and for an id that names no region,
// with constant and with variable ids (tests/region/region_lookup.bpf.c).
// The rule is the kernel's (io_uring/bpf-ops.c, bpf_io_uring_get_region:
// `rdwr_buf_size > io_region_size(r)` gives NULL, so does the switch's
// default); the library relies on it (a step whose region is missing ends
// the loop with -EINVAL, include/iouloop/bpf/program.hpp). It also checks a
// kernel with kernel/0004-*.patch, which inlines the constant-id look-ups
// and must answer the same.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/region/region_lookup_bpf.bpf.h"
#include "tests/support/runners.hpp"

TEST_CASE("kernel loop: bpf_io_uring_get_region gives a region up to its size, NULL past it or for no region",
          "[region][bpf]") {
  require_bpf_engine();
  // The two variable ids the step passes: a region (1, the rings) and no
  // region (3), each way round.
  auto [first, second] =
      GENERATE(std::pair<iouloop::u32, iouloop::u32>{1, 3}, std::pair<iouloop::u32, iouloop::u32>{3, 0});
  CAPTURE(first, second);
  iouloop::ring r;
  iouloop::param_region<nop::policy> p(nop::params{0, first, second, 0, 0});
  iouloop::bpf_engine<nop::policy> e(r, p, region_lookup_bpf::image(), std::string("region_lookup"));
  REQUIRE(e.run() == 0);  // the step returned STOP
  REQUIRE(p->completed == 1);
  const iouloop::u32 got = p->total;
  CAPTURE(got);
  CHECK((got & 1u << 0) != 0);                    // the whole param region (4096 bytes)
  CHECK((got & 1u << 1) == 0);                    // 4097 bytes of it
  CHECK((got & 1u << 2) != 0);                    // the rings, at the size the host gave
  CHECK((got & 1u << 3) != 0);                    // the SQEs, likewise
  CHECK((got & 1u << 4) == 0);                    // 1 MiB of SQEs
  CHECK((got & 1u << 5) == 0);                    // region 3
  CHECK((got & 1u << 6) == 0);                    // region 0xffffffff
  CHECK(((got & 1u << 7) != 0) == (first < 3));   // variable id
  CHECK(((got & 1u << 8) != 0) == (second < 3));  // variable id
}
