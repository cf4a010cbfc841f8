// The BPF engine on a kernel with io_uring_bpf_ops (run in the VM):
// the workload table, a differential comparison with the userspace engine,
// and the refusals every user will meet, with nothing leaked.
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/nop/nop_bpf.bpf.h"
#include "iouloop/engine/owned.hpp"
#include "tests/negative/negative_bpf.bpf.h"
#include "tests/support/census.hpp"
#include "tests/support/files.hpp"
#include "tests/support/runners.hpp"
#include "tests/workloads/cases.hpp"

using Catch::Matchers::ContainsSubstring;
using iouloop::bpf_attachment;
using iouloop::bpf_engine;
using iouloop::bpf_image;
using iouloop::param_region;
using iouloop::ring_options;
using iouloop::u32;
using iouloop::u64;
using iouloop::abi::cqe;
namespace abi = iouloop::abi;
// iouloop::ring and iouloop::bpf_object stay qualified: libbpf has a
// struct ring and a struct bpf_object of its own.

IOULOOP_PROGRAM_FOR(nop::policy, nop_bpf::programs::nop);
IOULOOP_PROGRAM_FOR(nop::nop_by_hand, nop_bpf::programs::nop_by_hand);
IOULOOP_PROGRAM_FOR(cp::policy, cp_bpf::programs::cp);
IOULOOP_PROGRAM_FOR(cp::unlinked_policy, cp_bpf::programs::cp_unlinked);
IOULOOP_PROGRAM_FOR(cp::serial_policy, cp_bpf::programs::cp_serial);

#define IOULOOP_RUNNER bpf_runner
#include "tests/workloads/table.hpp"

TEST_CASE("differential: NOP pipeline ends in the same state on both engines", "[differential][bpf]") {
  require_bpf_engine();
  auto [total, depth] = GENERATE(table<u32, u32>({{1, 1}, {999, 7}, {4096, 33}, {2000, 64}}));
  CAPTURE(total, depth);
  bpf_runner::session<nop::policy> b;
  userspace_runner::session<nop::policy> u;
  b.params() = u.params() = nop::params{total, depth, 0, 0, 0};
  REQUIRE(b.run() == u.run());
  REQUIRE(b.params().submitted == u.params().submitted);
  REQUIRE(b.params().completed == u.params().completed);
  REQUIRE(b.params().errors == u.params().errors);
}

TEST_CASE("differential: file copy gives the same bytes and state on both engines", "[differential][bpf]") {
  require_bpf_engine();
  auto [size, block, depth] = GENERATE(
      table<size_t, u32, u32>({{0, 4096, 1}, {5000, 4096, 3}, {(2 << 20) + 1, 8192, 16}, {(1 << 20), 65536, 64}}));
  CAPTURE(size, block, depth);
  auto b = workload::run_copy<bpf_runner>(size, block, depth, 99);
  auto u = workload::run_copy<userspace_runner>(size, block, depth, 99);
  REQUIRE(b.ret == u.ret);
  REQUIRE(b.end.copied == u.end.copied);
  REQUIRE(b.exit.error == u.exit.error);
  REQUIRE(std::string(b.exit.file) == std::string(u.exit.file));
  REQUIRE(b.exit.line == u.exit.line);
  REQUIRE(b.end.in_flight == u.end.in_flight);
  REQUIRE(b.end.next_off == u.end.next_off);
  REQUIRE(b.out == u.out);
}

TEST_CASE("a non-sleepable program calling the submit kfunc is rejected by the verifier", "[negative][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  {
    iouloop::ring r;
    param_region<nop::policy> p;
    REQUIRE_THROWS_WITH(bpf_engine<nop::policy>(r, p, negative_bpf::image(), "nonsleepable"),
                        ContainsSubstring("verifier said") && ContainsSubstring("sleepable"));
  }
  REQUIRE(census::until_within(before).within(before));
}

TEST_CASE("a loop bounded by the params is refused by the verifier, as the README says", "[negative][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  {
    iouloop::ring r;
    param_region<nop::policy> p;
    // The log runs to hundreds of thousands of lines: capture it (the
    // engine's error holds its end) without libbpf also printing it.
    const libbpf_print_fn_t app = libbpf_set_print(nullptr);
    struct restore {
      libbpf_print_fn_t app;
      ~restore() { libbpf_set_print(app); }
    } restore_print{app};
    try {
      bpf_engine<nop::policy> e(r, p, negative_bpf::image(), "runtime_bound");
      FAIL("the verifier accepted a loop whose bound is in the params");
    } catch (const iouloop::error& e) {
      const std::string said = e.what();
      CAPTURE(said);
      REQUIRE(said.find("verifier said") != std::string::npos);
      // what the verifier says of such a loop (this one: the first)
      REQUIRE((said.find("The sequence of 8193 jumps is too complex") != std::string::npos ||
               said.find("BPF program is too large") != std::string::npos ||
               said.find("infinite loop detected") != std::string::npos));
    }
  }
  REQUIRE(census::until_within(before).within(before));
}

TEST_CASE("a ring without DEFER_TASKRUN is refused by name, by iouloop and by the kernel", "[negative][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  {
    ring_options o;
    o.flags = abi::setup::no_sqarray;
    iouloop::ring r(o);
    param_region<nop::policy> p;
    REQUIRE_THROWS_WITH(bpf_engine<nop::policy>(r, p, nop_bpf::image(), "nop"),
                        ContainsSubstring("lacks IORING_SETUP_DEFER_TASKRUN"));
    // Past iouloop's own check, the kernel says the same at attach.
    REQUIRE(p.try_register(r) == 0);
    iouloop::bpf_object obj(nop_bpf::image(), "nop");
    obj.configure(r, reinterpret_cast<u64>(p.data()));
    obj.load();
    REQUIRE_THROWS_WITH(bpf_attachment(obj.struct_ops_map(), "nop"),
                        ContainsSubstring("IORING_SETUP_DEFER_TASKRUN") && ContainsSubstring("EOPNOTSUPP"));
  }
  REQUIRE(census::until_within(before).within(before));
}

TEST_CASE("a second attach to the same ring gives the named EBUSY error", "[negative][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  {
    iouloop::ring r;
    param_region<nop::policy> p(nop::params{10, 1, 0, 0, 0});
    bpf_engine<nop::policy> first(r, p, nop_bpf::programs::nop{});  // typed handle: layout checked at compile time
    REQUIRE_THROWS_WITH(bpf_engine<nop::policy>(r, p, nop_bpf::programs::nop_by_hand{}),
                        ContainsSubstring("already has loop ops attached") && ContainsSubstring("EBUSY"));
    REQUIRE(first.run() == 0);  // the first attachment is untouched
    REQUIRE(p->completed == 10);
  }
  REQUIRE(census::until_within(before).within(before));
}

TEST_CASE("a program built for another policy is refused before it touches memory", "[negative][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  {
    iouloop::ring r;
    param_region<cp::policy> p;
    REQUIRE_THROWS_WITH(bpf_engine<cp::policy>(r, p, nop_bpf::image(), "nop"),
                        ContainsSubstring("was built for a policy with"));
    REQUIRE_THROWS_WITH(bpf_engine<cp::policy>(r, p, nop_bpf::image(), "nope"),
                        ContainsSubstring("has no policy named 'nope'") && ContainsSubstring("nop_by_hand"));
  }
  REQUIRE(census::until_within(before).within(before));
}

TEST_CASE("attach, run, detach many times: nothing leaks", "[leaks][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  for (int i = 0; i < 20; ++i) {
    iouloop::ring r;
    param_region<nop::policy> p(nop::params{50, 4, 0, 0, 0});
    bpf_engine<nop::policy> e(r, p, nop_bpf::programs::nop{});
    REQUIRE(e.run() == 0);
    REQUIRE(p->completed == 50);
  }
  const census after = census::until_within(before);
  CAPTURE(before, after);
  REQUIRE(after.within(before));
}

TEST_CASE("the probe sees io_uring_bpf_ops on this kernel", "[probe][bpf]") {
  if (!std::getenv("IOULOOP_IN_VM")) SKIP("only meaningful inside the VM's kernel");
  iouloop::probe_result pr = iouloop::probe();
  INFO(iouloop::to_text(pr));
  REQUIRE(pr.bpf_ops);
  REQUIRE(pr.kfunc_submit_sqes);
  REQUIRE(pr.kfunc_get_region);
  REQUIRE(pr.sq_rewind);
  REQUIRE(pr.bpf_engine());
}

TEST_CASE("SQ_REWIND rings: SQEs from slot 0 every submission, on both engines", "[rewind][bpf]") {
  require_bpf_engine();
  iouloop::probe_result pr = iouloop::probe();
  if (!pr.sq_rewind) SKIP("this kernel lacks IORING_SETUP_SQ_REWIND");
  ring_options o;
  o.flags |= abi::setup::sq_rewind;
  auto [total, depth] = GENERATE(table<u32, u32>({{1, 1}, {1000, 1}, {5000, 32}, {640, 64}}));
  CAPTURE(total, depth);
  bpf_runner::session<nop::policy> b(o);
  userspace_runner::session<nop::policy> u(o);
  REQUIRE((b.ring().flags() & abi::setup::sq_rewind) != 0);
  b.params() = u.params() = nop::params{total, depth, 0, 0, 0};
  REQUIRE(b.run() == 0);
  REQUIRE(u.run() == 0);
  REQUIRE(b.params().completed == total);
  REQUIRE(u.params().completed == total);
  REQUIRE(b.params().errors == 0);
  REQUIRE(u.params().errors == 0);
  // The SQ head and tail never move in this mode.
  REQUIRE(*reinterpret_cast<u32*>(b.ring().rings() + b.ring().layout().sq_tail) == 0);
}

TEST_CASE("ring variants: the engine runs the variant on its ring and the policy's own step on others",
          "[ring-variant][bpf]") {
  // IOULOOP_BPF_RING_VARIANT(nop, nop::policy, 64, 128) in examples/nop: the
  // same step with the ring's sizes as constants. Both must end where the
  // userspace engine ends (the kernel's loop is the same; only the step's
  // code differs).
  require_bpf_engine();
  auto [total, depth] = GENERATE(table<u32, u32>({{1, 1}, {1000, 8}, {3000, 32}, {640, 64}}));
  CAPTURE(total, depth);
  ring_options variant_ring, other_ring;
  other_ring.cq_entries = 256;  // 64 SQEs, 256 CQEs: no variant for it
  bpf_runner::session<nop::policy> v(variant_ring), o(other_ring);
  userspace_runner::session<nop::policy> u;
  REQUIRE(v.ring().layout().sq_entries == 64);
  REQUIRE(v.ring().layout().cq_entries == 128);
  v.params() = o.params() = u.params() = nop::params{total, depth, 0, 0, 0};
  REQUIRE(u.run() == 0);
  REQUIRE(v.run() == 0);
  REQUIRE(o.run() == 0);
  for (auto* b : {&v.params(), &o.params()}) {
    REQUIRE(b->completed == u.params().completed);
    REQUIRE(b->submitted == u.params().submitted);
    REQUIRE(b->errors == 0);
  }
  REQUIRE(v.params().completed == total);
  // Which programs ran the chains above, and the variant is the shorter.
  REQUIRE(v.loaded_program() == "nop_ring64x128");
  REQUIRE(o.loaded_program() == "nop");
  CAPTURE(v.stats().xlated_insns, o.stats().xlated_insns);
  REQUIRE(v.stats().xlated_insns < o.stats().xlated_insns);
}

TEST_CASE("ring variants: a variant named for another ring is refused before it is loaded", "[ring-variant][bpf]") {
  require_bpf_engine();
  const census before = census::settled();
  {
    ring_options big;
    big.sq_entries = 256;
    iouloop::ring r(big);
    param_region<nop::policy> p;
    REQUIRE_THROWS_WITH(bpf_engine<nop::policy>(r, p, nop_bpf::image(), "nop_ring64x128"),
                        ContainsSubstring("compiled for a head/tail ring of 64 SQEs and 128 CQEs") &&
                            ContainsSubstring("this ring has 256 and 512"));
    // Refused before the param region was registered: the policy's own
    // program still attaches to this ring and runs.
    p->total = 10, p->depth = 2;
    bpf_engine<nop::policy> e(r, p, nop_bpf::image(), "nop");
    REQUIRE(e.program() == "nop");
    REQUIRE(e.run() == 0);
    REQUIRE(p->completed == 10);
  }
  REQUIRE(census::until_within(before).within(before));
}

TEST_CASE("the kernel's run statistics count every call of the step", "[stats][bpf]") {
  // While the statistics are on, the trampoline leaves a sleepable step
  // through __bpf_prog_exit_sleepable (kernel/bpf/trampoline.c), whose
  // update_prog_stats() adds the call and its time to bpf_prog_info's
  // run_cnt and run_time_ns: what `bpftool prog` shows. kernel/0007 calls a
  // held step with no exit on x86 while they are off, and with the held
  // exit while they are on, whenever they were turned on (invoke_bpf_prog
  // in arch/x86/net/bpf_jit_comp.c); on its test kernel this case checks
  // both orders.
  require_bpf_engine();
  // bpf_enable_stats(): an fd that keeps the statistics on until it is closed.
  const auto statistics_on = [] {
    const int on = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (on < 0) SKIP("bpf_enable_stats(BPF_STATS_RUN_TIME): " << std::strerror(-on) << " (it needs CAP_SYS_ADMIN)");
    return iouloop::unique_fd(on);
  };
  const auto counts_every_call = [](bpf_runner::session<nop::policy>& b) {
    b.params() = nop::params{300, 1, 0, 0, 0};
    const auto before = b.stats();
    REQUIRE(b.run() == 0);
    const auto after = b.stats();
    const iouloop::exit_record& x = b.exit();
    CAPTURE(before.run_count, after.run_count, after.run_time_ns, x.steps, x.reentries);
    REQUIRE(b.params().completed == 300);
    REQUIRE(x.steps > 300);  // one NOP in flight: a step for each, and the first
    // Every call is a step, or a stale wake-up the guard ended before the
    // policy ran (detail::stale_wake_guard), after which the host entered again.
    REQUIRE(after.run_count - before.run_count == x.steps + x.reentries);
    REQUIRE(after.run_time_ns > before.run_time_ns);
  };
  SECTION("turned on before the step is attached") {
    const iouloop::unique_fd on = statistics_on();
    bpf_runner::session<nop::policy> b;
    counts_every_call(b);
  }
  SECTION("turned on after the step is attached") {
    // Off at the attach unless kernel.bpf_stats_enabled is set: the sysctl
    // is 0 in the test VM, and the section before closed its fd.
    const int sysctl_at_attach = testfiles::read_int("/proc/sys/kernel/bpf_stats_enabled");  // not the fds
    CAPTURE(sysctl_at_attach);
    bpf_runner::session<nop::policy> b;
    const iouloop::unique_fd on = statistics_on();
    counts_every_call(b);
  }
}
