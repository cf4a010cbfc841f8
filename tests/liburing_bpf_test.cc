// A policy on a ring liburing set up, on the BPF engine (in the VM): the loop
// program attaches to liburing's ring, runs, detaches when the engine goes,
// and liburing goes on with the ring (iouloop/engine/liburing.hpp; the
// userspace engine's cases are tests/liburing_test.cc).
#include <fcntl.h>
#include <liburing.h>

#include <catch2/catch_test_macros.hpp>

#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/engine/liburing.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/liburing_nop.hpp"
#include "iouloop/probe.hpp"

TEST_CASE("the BPF engine runs a policy on liburing's ring, and liburing goes on with it", "[liburing][bpf]") {
  static const iouloop::probe_result pr = iouloop::probe();
  if (!pr.bpf_engine()) SKIP("BPF engine unavailable on kernel " << pr.kernel << ": " << pr.bpf_engine_problem());
  for (unsigned extra : {0u, unsigned{IORING_SETUP_NO_SQARRAY}}) {
    CAPTURE(extra);
    io_uring uring;
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG | extra;
    REQUIRE(io_uring_queue_init_params(16, &uring, &p) == 0);
    REQUIRE(liburing_nop(uring, 7) == 7);  // liburing first: the loop starts past slot 0
    const int fd = uring.ring_fd;
    // A ring takes one param region for its life (a second registration is
    // -EBUSY, and there is no unregistering): it outlives the loans.
    iouloop::param_region<nop::policy> params(nop::params{.total = 100, .depth = 8});
    for (int run = 0; run < 2; ++run) {  // attach, detach, attach again
      CAPTURE(run);
      *params = nop::params{.total = 100, .depth = 8};
      iouloop::liburing_ring lent(uring);
      iouloop::bpf_engine<nop::policy> engine(lent.get(), params, nop_bpf::programs::nop{});
      REQUIRE(engine.run() == 0);
      CHECK(params->completed == 100);
      CHECK(params->errors == 0);
    }
    // The program detached with the engine; liburing's cursor caught up.
    for (unsigned long long i = 0; i < 20; ++i) CHECK(liburing_nop(uring, 1000 + i) == 1000 + i);
    io_uring_queue_exit(&uring);
    CHECK(::fcntl(fd, F_GETFD) == -1);
  }
}
