// A kernel without io_uring_bpf_ops (Debian's 7.0, or a host kernel before
// 7.1): the probe, bpf_engine, choose_engine and any_engine each say so by
// name, and the policy still runs on the userspace engine.
//
// Runs on the host (tests/kernels:no_bpf_ops_test; its cases SKIP on a host
// kernel that has the ops) and in the VM on the 7.0 kernel of the kernel
// matrix (tools/test.sh, stage "kernels"), where IOULOOP_EXPECT_NO_BPF_OPS=1
// makes a kernel that has them a failure instead of a skip.
#include <sys/utsname.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/select.hpp"
#include "iouloop/probe.hpp"

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::EndsWith;

namespace {
// What every refusal must carry: the missing piece and the option that gives it.
constexpr const char* missing = "the kernel lacks io_uring_bpf_ops (CONFIG_IO_URING_BPF_OPS, Linux 7.1+";

std::string uname_r() {
  struct utsname u;
  return ::uname(&u) == 0 ? u.release : "";
}

// The probe on this kernel; skips the case where the kernel has the ops
// (fails instead where the caller expects it not to).
iouloop::probe_result require_no_bpf_ops() {
  iouloop::probe_result r = iouloop::probe();
  INFO(iouloop::to_text(r));
  const bool expected = std::getenv("IOULOOP_EXPECT_NO_BPF_OPS") != nullptr;
  if (r.bpf_ops) {
    if (expected) FAIL("kernel " << r.kernel << " has io_uring_bpf_ops, but this run expects a kernel without them");
    SKIP("kernel " << r.kernel << " has io_uring_bpf_ops (the VM's 7.1+ kernels do)");
  }
  if (!r.io_uring || !r.defer_taskrun || !r.no_sqarray) {  // the default ring needs both (6.6+)
    if (expected) FAIL("kernel " << r.kernel << ": no default ring here: " << iouloop::to_text(r));
    SKIP("kernel " << r.kernel << ": no default ring here (io_uring, DEFER_TASKRUN, NO_SQARRAY)");
  }
  if (!r.btf) {
    if (expected) FAIL("kernel " << r.kernel << " has no BTF, so the probe cannot name the missing ops");
    SKIP("kernel " << r.kernel << " has no /sys/kernel/btf/vmlinux");
  }
  return r;
}
}  // namespace

TEST_CASE("the probe names io_uring_bpf_ops as what this kernel lacks", "[no-bpf-ops][probe]") {
  iouloop::probe_result r = require_no_bpf_ops();
  REQUIRE(r.kernel == uname_r());
  REQUIRE_FALSE(r.bpf_engine());
  REQUIRE_THAT(r.bpf_engine_problem(), ContainsSubstring(missing));
  // What `iouloop-probe` prints (tools/probe.cc prints to_text / to_json).
  const std::string text = iouloop::to_text(r);
  REQUIRE_THAT(text, ContainsSubstring("  no   struct io_uring_bpf_ops\n"));
  REQUIRE_THAT(text, ContainsSubstring(std::string("BPF engine: unavailable: ") + missing));
  const std::string json = iouloop::to_json(r);
  REQUIRE_THAT(json, ContainsSubstring("\"io_uring_bpf_ops\": false"));
  REQUIRE_THAT(json, ContainsSubstring("\"bpf_engine\": false"));
  REQUIRE_THAT(json, ContainsSubstring(std::string("\"bpf_engine_problem\": \"") + missing));
}

TEST_CASE("bpf_engine refuses with ESRCH, naming the kernel, the missing ops and the way out", "[no-bpf-ops][bpf]") {
  iouloop::probe_result r = require_no_bpf_ops();
  // Without CAP_BPF and CAP_PERFMON the engine refuses for that first (EPERM).
  if (std::string why = r.privs.bpf_engine_problem(); !why.empty()) {
    if (std::getenv("IOULOOP_EXPECT_NO_BPF_OPS")) FAIL("this process cannot load BPF programs: " << why);
    SKIP("this process cannot load BPF programs: " << why);
  }
  iouloop::ring ring;
  iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 2});
  try {
    iouloop::bpf_engine<nop::policy> e(ring, params, nop_bpf::programs::nop{});
    FAIL("bpf_engine was constructed on kernel " << r.kernel << ", which lacks io_uring_bpf_ops");
  } catch (const iouloop::error& e) {
    INFO(e.what());
    REQUIRE(e.code() == ESRCH);
    REQUIRE_THAT(e.what(), ContainsSubstring("kernel " + r.kernel + ": " + missing));
    REQUIRE_THAT(e.what(), ContainsSubstring("run the policy on iouloop::userspace_engine instead"));
    REQUIRE_THAT(e.what(), ContainsSubstring("ESRCH"));
  }
  // The ring is still usable: the same policy on the userspace engine.
  iouloop::userspace_engine<nop::policy> u(ring, params);
  REQUIRE(u.run() == 0);
  REQUIRE(params->completed == 10);
  REQUIRE(params->errors == 0);
}

TEST_CASE("choose_engine: bpf requested is refused by name; auto picks userspace and says why", "[no-bpf-ops]") {
  iouloop::probe_result r = require_no_bpf_ops();
  try {
    (void)iouloop::choose_engine(iouloop::engine_kind::bpf);
    FAIL("choose_engine(bpf) chose the BPF engine on kernel " << r.kernel);
  } catch (const iouloop::error& e) {
    INFO(e.what());
    REQUIRE(e.code() == EOPNOTSUPP);
    REQUIRE_THAT(e.what(), ContainsSubstring(std::string("the BPF engine cannot run here: ") + missing));
    REQUIRE_THAT(e.what(), ContainsSubstring("use the userspace engine (--engine userspace)"));
  }
  iouloop::engine_choice c = iouloop::choose_engine(iouloop::parse_engine("auto"));
  REQUIRE(c.kind == iouloop::engine_kind::userspace);
  REQUIRE(c.kernel == r.kernel);
  REQUIRE_THAT(c.describe(),
               ContainsSubstring("userspace (kernel " + r.kernel + ": BPF engine unavailable: " + missing));

  // any_engine with that choice runs the policy, the BPF handle unused.
  iouloop::ring ring;
  iouloop::param_region<nop::policy> params(nop::params{.total = 100, .depth = 8});
  iouloop::any_engine<nop::policy> e(c, ring, params, nop_bpf::programs::nop{});
  REQUIRE(e.run() == 0);
  REQUIRE(params->completed == 100);
}
