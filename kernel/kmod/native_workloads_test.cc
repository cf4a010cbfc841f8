// The workload table (tests/workloads/table.hpp) on the native-callback
// engine, and differential cases: the same NOP chains and copies end in the
// same state natively and on the BPF engine. VM, module loaded (stage 6).
#include "examples/cp/cp_bpf.bpf.h"
#include "examples/nop/nop_bpf.bpf.h"
#include "kernel/kmod/native_policies.hpp"
#include "tests/support/kernel_runner.hpp"
#include "tests/support/runners.hpp"
#include "tests/workloads/cases.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)
IOULOOP_PROGRAM_FOR(nop::policy, nop_bpf::programs::nop);
IOULOOP_PROGRAM_FOR(cp::policy, cp_bpf::programs::cp);
IOULOOP_PROGRAM_FOR(cp::unlinked_policy, cp_bpf::programs::cp_unlinked);
IOULOOP_PROGRAM_FOR(cp::serial_policy, cp_bpf::programs::cp_serial);

#define IOULOOP_RUNNER kernel_runner
#include "tests/workloads/table.hpp"

using iouloop::u32;

TEST_CASE("differential: NOP pipeline ends in the same state natively and on BPF", "[differential][kernel]") {
  require_kernel_module();
  require_bpf_engine();
  auto [total, depth] = GENERATE(table<u32, u32>({{1, 1}, {999, 7}, {4096, 33}, {2000, 64}}));
  CAPTURE(total, depth);
  kernel_runner::session<nop::policy> k;
  bpf_runner::session<nop::policy> b;
  k.params() = nop::params{.total = total, .depth = depth};
  b.params() = nop::params{.total = total, .depth = depth};
  REQUIRE(k.run() == b.run());
  REQUIRE(k.params().completed == b.params().completed);
  REQUIRE(k.params().submitted == b.params().submitted);
  REQUIRE(k.params().errors == b.params().errors);
}

TEST_CASE("differential: file copy ends in the same state natively and on BPF", "[differential][kernel][cp]") {
  require_kernel_module();
  require_bpf_engine();
  auto [size, block, depth] = GENERATE(table<u32, u32, u32>({{1, 4096, 1}, {100000, 4096, 4}, {262144, 65536, 2}}));
  CAPTURE(size, block, depth);
  auto k = workload::run_copy<kernel_runner>(size, block, depth, size * 7 + block);
  auto b = workload::run_copy<bpf_runner>(size, block, depth, size * 7 + block);
  REQUIRE(k.ret == 0);
  REQUIRE(k.ret == b.ret);
  REQUIRE(k.out == b.out);
  REQUIRE(k.end.copied == b.end.copied);
  REQUIRE(k.exit.error == b.exit.error);
}
