// A policy on a ring liburing set up (iouloop/engine/liburing.hpp): the loop
// borrows liburing's fd and mappings, gives them back untouched, and
// liburing goes on using the ring (its SQ cursor resynced), then closes and
// unmaps it once.
#include <fcntl.h>
#include <liburing.h>
#include <sys/mman.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/liburing.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/liburing_nop.hpp"

namespace {
bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool mapped(void* p) {
  unsigned char v;
  return ::mincore(p, 4096, &v) == 0;  // ENOMEM once unmapped
}
constexpr unsigned loop_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;

}  // namespace

TEST_CASE("a policy runs on liburing's ring, and liburing goes on with it", "[liburing]") {
  // (liburing 2.6+ asks for NO_SQARRAY by itself, falling back without it
  // only on kernels before 6.6: here both passes get it)
  for (unsigned extra : {0u, unsigned{IORING_SETUP_NO_SQARRAY}}) {
    CAPTURE(extra);
    io_uring uring;
    io_uring_params p{};
    p.flags = loop_flags | extra;
    REQUIRE(io_uring_queue_init_params(16, &uring, &p) == 0);
    REQUIRE(liburing_nop(uring, 7) == 7);  // liburing first: the loop starts past slot 0
    const int fd = uring.ring_fd;
    void* rings = uring.sq.ring_ptr;
    void* sqes = uring.sq.sqes;
    {
      iouloop::liburing_ring lent(uring);
      CHECK(lent.get().borrowed());
      CHECK(lent.get().fd() == fd);
      iouloop::param_region<nop::policy> params(nop::params{.total = 100, .depth = 8});
      iouloop::userspace_engine<nop::policy> engine(lent.get(), params);
      REQUIRE(engine.run() == 0);
      CHECK(params->completed == 100);
      CHECK(params->errors == 0);
    }
    // Given back untouched, and liburing's cursor caught up: its NOPs go on.
    CHECK(fd_open(fd));
    CHECK(mapped(rings));
    CHECK(mapped(sqes));
    for (unsigned long long i = 0; i < 20; ++i) CHECK(liburing_nop(uring, 1000 + i) == 1000 + i);
    io_uring_queue_exit(&uring);
    CHECK_FALSE(fd_open(fd));
  }
}

TEST_CASE("liburing's SQEs not yet submitted are not written over", "[liburing]") {
  io_uring uring;
  io_uring_params p{};
  p.flags = loop_flags;
  REQUIRE(io_uring_queue_init_params(16, &uring, &p) == 0);
  io_uring_sqe* s = io_uring_get_sqe(&uring);
  REQUIRE(s);
  io_uring_prep_nop(s);
  REQUIRE_THROWS_WITH(iouloop::borrow(uring),
                      Catch::Matchers::ContainsSubstring("liburing holds 1 SQEs it has not submitted"));
  CHECK(io_uring_submit(&uring) == 1);
  CHECK_NOTHROW(iouloop::borrow(uring));
  io_uring_queue_exit(&uring);
}

TEST_CASE("a ring liburing set up without DEFER_TASKRUN is refused by name", "[liburing]") {
  io_uring uring;
  REQUIRE(io_uring_queue_init(16, &uring, 0) == 0);
  {
    iouloop::liburing_ring lent(uring);
    iouloop::param_region<nop::policy> params(nop::params{.total = 1, .depth = 1});
    REQUIRE_THROWS_WITH((iouloop::userspace_engine<nop::policy>(lent.get(), params)),
                        Catch::Matchers::ContainsSubstring("IORING_SETUP_DEFER_TASKRUN"));
  }
  CHECK(fd_open(uring.ring_fd));
  io_uring_queue_exit(&uring);
}

TEST_CASE("a borrowed ring has the layout of iouloop's own ring with the same flags", "[liburing]") {
  // The BPF engine passes these sizes to bpf_io_uring_get_region: they must
  // be the kernel's, as iouloop's own ring computes them.
  for (unsigned extra : {0u, unsigned{IORING_SETUP_NO_SQARRAY}}) {
    CAPTURE(extra);
    io_uring uring;
    io_uring_params p{};
    p.flags = loop_flags | extra;
    REQUIRE(io_uring_queue_init_params(32, &uring, &p) == 0);
    // (liburing 2.6+ adds NO_SQARRAY by itself: the same flags as it made)
    iouloop::ring own(iouloop::ring_options{.sq_entries = 32, .flags = uring.flags});
    {
      iouloop::ring lent = iouloop::borrow(uring);
      const iouloop::ring_layout &a = lent.layout(), &b = own.layout();
      CHECK(a.sq_head == b.sq_head);
      CHECK(a.sq_tail == b.sq_tail);
      CHECK(a.sq_flags == b.sq_flags);
      CHECK(a.cq_head == b.cq_head);
      CHECK(a.cq_tail == b.cq_tail);
      CHECK(a.cq_cqes == b.cq_cqes);
      CHECK(a.cq_overflow == b.cq_overflow);
      CHECK(a.sq_entries == b.sq_entries);
      CHECK(a.cq_entries == b.cq_entries);
      CHECK(a.rings_size == b.rings_size);
      CHECK(a.sqes_size == b.sqes_size);
      CHECK(a.setup_flags == b.setup_flags);
    }
    io_uring_queue_exit(&uring);
  }
}
