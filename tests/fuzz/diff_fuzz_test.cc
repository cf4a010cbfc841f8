// Differential fuzzing: random workloads, ring sizes and injected failures,
// each run on the userspace engine and on the BPF engine; every observable
// result must agree. Runs in the VM (it needs io_uring_bpf_ops).
//
//   IOULOOP_FUZZ_SEED  the seed (default: from the clock; always printed)
//   IOULOOP_FUZZ_CASES how many cases (default 1000)
//   IOULOOP_FUZZ_UNTIL stop after this case (replays a full run up to it:
//                      every earlier case runs too, as it did in the run)
//   IOULOOP_FUZZ_FROM  start at this case (earlier ones are skipped)
//   IOULOOP_FUZZ_CASE  run only this case (FROM = UNTIL = it)
//   IOULOOP_FUZZ_VERBOSE=1 print each case before running it
//   IOULOOP_FUZZ_KEEPALIVE=0 no ring kept open across cases (see below)
//   IOULOOP_FUZZ_NATIVE=1 also the native-callback engine (kernel_engine, the
//                      policies compiled into kernel/kmod's iouloop_kmod.ko,
//                      which must be loaded: tools/vm/run.sh --module KO); its
//                      results must agree with the BPF engine's
//   IOULOOP_FUZZ_CASE_LIMIT seconds one case may take (default 30; the slowest seen
//                      under a loaded TCG host took 9 s); a case
//                      that takes longer is reported as HUNG with what it
//                      was doing, and the process ends (exit 3)
// A difference or a hang prints the commands that replay it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/engine/kernel.hpp"
#include "iouloop/iouloop.hpp"
#include "kernel/kmod/native_policies.hpp"
#include "tests/fuzz/watchdog.hpp"
#include "tests/support/files.hpp"
#include "tests/support/rng.hpp"
#include "tests/support/runners.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

namespace {
using iouloop::u32;
using iouloop::u64;

using iouloop_test::env_u64;
using iouloop_test::rng;

enum class fault { none, closed_out, closed_in, readonly_out, short_source, dir_in, count };
const char* fault_name(fault f) {
  static const char* names[] = {"none", "closed-out", "closed-in", "readonly-out", "short-source", "dir-in"};
  return names[int(f)];
}

struct copy_case {
  size_t size;
  u32 block, depth;
  fault f;
  iouloop::ring_options ring;
};
struct nop_case {
  u32 total, depth;
  iouloop::ring_options ring;
};

// A number that is certainly not an open fd, and stays so (nothing opens
// that high while the lowest free number is far below).
int closed_fd() {
  int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 5000);
  ::close(fd);
  return fd;
}

// What a hung case was doing: the ring as both sides see it. Read from the
// watchdog thread while the case is stuck.
std::string ring_state(const iouloop::ring& r) {
  std::ostringstream o;
  o << "  ring fd " << r.fd() << ": sq_flags 0x" << std::hex << r.sq_flags() << std::dec << " cq head " << r.cq_head()
    << " tail " << r.cq_tail() << " overflow " << r.cq_overflow() << "\n";
  std::ifstream f("/proc/self/fdinfo/" + std::to_string(r.fd()));
  for (std::string l; std::getline(f, l);) o << "    " << l << "\n";
  return o.str();
}
std::string describe(const cp::params& p) {
  std::ostringstream o;
  o << "  cp params: size " << p.size << " block " << p.block << " depth " << p.depth << " next_off " << p.next_off
    << " copied " << p.copied << " in_flight " << p.in_flight << " redone " << p.redone << " free_slots 0x" << std::hex
    << p.free_slots << " redo_slots 0x" << p.redo_slots << std::dec << "\n";
  return o.str();
}
std::string describe(const nop::params& p) {
  std::ostringstream o;
  o << "  nop params: total " << p.total << " depth " << p.depth << " submitted " << p.submitted << " completed "
    << p.completed << " errors " << p.errors << "\n";
  return o.str();
}

// Runs one engine on one ring, telling the watchdog where it is.
template <class Engine, class P, class... Extra>
int run_engine(testwatch::case_watchdog& dog, iouloop::ring& r, iouloop::param_region<P>& p, Extra&&... extra) {
  dog.phase(Engine::name, "set-up");
  testwatch::case_watchdog::scoped_dump dump(dog, [&r, &p] { return ring_state(r) + describe(*p); });
  int ret;
  {
    Engine e(r, p, extra...);
    dog.phase(Engine::name, "run");
    ret = e.run();
    dog.phase(Engine::name, "tear-down");
  }
  dog.phase(Engine::name, "check");
  return ret;
}

struct copy_result {
  int ret;
  cp::params end;
  iouloop::exit_record exit;
  std::vector<unsigned char> out;
};

template <class Engine, class... Extra>
copy_result run_copy(testwatch::case_watchdog& dog, const copy_case& c, u64 seed, Extra&&... extra) {
  dog.phase(Engine::name, "files");
  auto data = testfiles::pattern(c.size, seed);
  size_t on_disk = c.f == fault::short_source ? c.size / 2 : c.size;
  testfiles::temp_file in("fz-in", std::vector<unsigned char>(data.begin(), data.begin() + on_disk));
  testfiles::temp_file out("fz-out");
  testfiles::buffers bufs(size_t(c.block) * c.depth);
  int in_fd = in.fd(), out_fd = out.fd(), extra_fd = -1;
  if (c.f == fault::closed_out) out_fd = closed_fd();
  if (c.f == fault::closed_in) in_fd = closed_fd();
  if (c.f == fault::readonly_out) out_fd = extra_fd = ::open(out.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (c.f == fault::dir_in)
    in_fd = extra_fd = ::open(testfiles::temp_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  iouloop::ring r(c.ring);
  iouloop::param_region<cp::policy> p(cp::make_params(in_fd, out_fd, c.size, bufs.addr(), c.block, c.depth));
  copy_result res;
  res.ret = run_engine<Engine>(dog, r, p, extra...);
  res.end = *p;
  res.exit = p.exit();
  res.out = out.read_all();
  if (extra_fd >= 0) ::close(extra_fd);
  return res;
}

template <class Engine, class... Extra>
std::pair<int, nop::params> run_nops(testwatch::case_watchdog& dog, const nop_case& c, Extra&&... extra) {
  iouloop::ring r(c.ring);
  iouloop::param_region<nop::policy> p(nop::params{c.total, c.depth, 0, 0, 0});
  int ret = run_engine<Engine>(dog, r, p, extra...);
  return {ret, *p};
}

iouloop::ring_options random_ring(rng& g) {
  iouloop::ring_options o;
  o.sq_entries = 2u << g.below(7);                             // 2 .. 128
  o.cq_entries = g.below(2) ? 0 : o.sq_entries << g.below(3);  // default, or 1x..4x
  o.sq_rewind_where_supported = g.below(2);                    // both SQ modes: SQ_REWIND is the default
  return o;
}
const char* sq_mode(const iouloop::ring_options& o) { return o.sq_rewind_where_supported ? " rewind" : ""; }

const char* const test_name = "differential fuzzing: userspace and BPF engines agree";

// How to run case `i` again: as the full run did (every case before it
// first), and alone.
std::string replay(u64 seed, u64 i, bool keepalive, bool native) {
  const std::string extra = std::string(keepalive ? "" : " --env IOULOOP_FUZZ_KEEPALIVE=0") +
                            (native ? " --env IOULOOP_FUZZ_NATIVE=1 --module kernel/kmod/out/iouloop_kmod.ko" : "");
  std::ostringstream o;
  o << "  replay as the run did: tools/vm/run.sh --env IOULOOP_FUZZ_SEED=" << seed << " --env IOULOOP_FUZZ_UNTIL=" << i
    << extra << " --env IOULOOP_FUZZ_VERBOSE=1 bazel-bin/tests/fuzz/diff_fuzz_test_static\n"
    << "  replay this case alone: tools/vm/run.sh --env IOULOOP_FUZZ_SEED=" << seed << " --env IOULOOP_FUZZ_CASE=" << i
    << extra << " bazel-bin/tests/fuzz/diff_fuzz_test_static";
  return o.str();
}
}  // namespace

TEST_CASE(test_name, "[fuzz][bpf]") {
  require_bpf_engine();
  const u64 seed =
      env_u64("IOULOOP_FUZZ_SEED", u64(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007);
  const u64 only = env_u64("IOULOOP_FUZZ_CASE", ~0ull);
  const u64 from = only != ~0ull ? only : env_u64("IOULOOP_FUZZ_FROM", 0);
  const u64 until = only != ~0ull ? only : env_u64("IOULOOP_FUZZ_UNTIL", ~0ull);
  const u64 cases = until != ~0ull ? until + 1 : env_u64("IOULOOP_FUZZ_CASES", 1000);
  const bool verbose = env_u64("IOULOOP_FUZZ_VERBOSE", 0) != 0;
  const bool native = env_u64("IOULOOP_FUZZ_NATIVE", 0) != 0;
  if (native && ::access("/dev/iouloop", F_OK) != 0)
    FAIL("IOULOOP_FUZZ_NATIVE=1 but no /dev/iouloop: load kernel/kmod's iouloop_kmod.ko (tools/vm/run.sh --module)");
  testwatch::case_watchdog dog("diff_fuzz", test_name, testwatch::limit_from_env("IOULOOP_FUZZ_CASE_LIMIT", 30));
  // A ring open for the whole run, so the process never has zero rings
  // between cases. When a task closes its last ring, Linux (7.2.13) marks
  // its io-wq exit-on-idle (io_uring_del_tctx_node) and wakes the workers
  // to exit. A worker on its way out still sits on the free list holding
  // its reference until io_worker_exit() drops it, so io_wq_enqueue() of the
  // next case's first read "activates" it (io_acct_activate_free_worker),
  // creates no worker, and the worker exits without looking at the queue:
  // the request never runs and the case hangs with no iou-wrk thread left.
  // Seen with seed 296001881 at cases 151, 224 and 278 in different runs
  // (673 in CI); the kernel trace of the 224 hang
  // (tests/fuzz/vm_trace_iowq.sh) shows the 8 reads queued to io-wq 0.7 ms
  // before the task's only worker exited, and no worker created after.
  // The previous case's workers are the state carried from case to case,
  // and when they exit is timing: one case replayed alone never hangs; a
  // replay with IOULOOP_FUZZ_UNTIL rebuilds that state (and may hang, or
  // not). With a ring kept open the mark is never set; a worker leaving
  // after its 5 s idle timeout can still absorb a wake-up, but then another
  // worker remains and picks the work up within 5 s.
  // IOULOOP_FUZZ_KEEPALIVE=0 runs without it (to see the kernel bug).
  std::optional<iouloop::ring> keepalive;
  if (env_u64("IOULOOP_FUZZ_KEEPALIVE", 1) != 0) keepalive.emplace();
  std::printf("diff_fuzz: seed %llu, cases %llu..%llu, %lld s per case%s\n", seed, from, cases - 1,
              static_cast<long long>(dog.limit().count() / 1000), native ? ", native engine too" : "");
  std::fflush(stdout);
  u64 differences = 0, ran = 0, faults = 0, slowest = 0;
  std::chrono::milliseconds slowest_ms{0};
  for (u64 i = from; i < cases; ++i) {
    rng g{seed * 1000003 + i};
    std::ostringstream what;
    bool same = true;
    if (g.below(4) == 0) {
      nop_case c{1 + g.below(3000), 1 + g.below(64), random_ring(g)};
      what << "nop total " << c.total << " depth " << c.depth << " sq " << c.ring.sq_entries << " cq "
           << c.ring.cq_entries << sq_mode(c.ring);
      if (verbose) std::printf("case %llu: %s\n", i, what.str().c_str()), std::fflush(stdout);
      dog.start_case(i, what.str(), replay(seed, i, keepalive.has_value(), native));
      auto u = run_nops<iouloop::userspace_engine<nop::policy>>(dog, c);
      auto b = run_nops<iouloop::bpf_engine<nop::policy>>(dog, c, nop_bpf::programs::nop{});
      same = u.first == b.first && u.second.completed == b.second.completed &&
             u.second.submitted == b.second.submitted && u.second.errors == b.second.errors;
      if (!same)
        what << " -> userspace ret " << u.first << " completed " << u.second.completed << ", bpf ret " << b.first
             << " completed " << b.second.completed;
      if (native && same) {
        auto k = run_nops<iouloop::kernel_engine<nop::policy>>(dog, c);
        same = k.first == b.first && k.second.completed == b.second.completed &&
               k.second.submitted == b.second.submitted && k.second.errors == b.second.errors;
        if (!same)
          what << " -> native ret " << k.first << " completed " << k.second.completed << ", bpf ret " << b.first
               << " completed " << b.second.completed;
      }
    } else {
      copy_case c;
      const u32 shape = g.below(4);
      c.size = shape == 0 ? g.below(3) : (shape == 1 ? g.below(70000) : g.below(3u << 20));
      c.block = g.below(2) ? 512u << g.below(10) : 512u * (1 + g.below(256));
      c.depth = 1 + g.below(cp::max_depth);
      c.f = g.below(3) == 0 ? fault(1 + g.below(int(fault::count) - 1)) : fault::none;
      c.ring = random_ring(g);
      faults += c.f != fault::none;
      what << "cp size " << c.size << " block " << c.block << " depth " << c.depth << " fault " << fault_name(c.f)
           << " sq " << c.ring.sq_entries << " cq " << c.ring.cq_entries << sq_mode(c.ring);
      if (verbose) std::printf("case %llu: %s\n", i, what.str().c_str()), std::fflush(stdout);
      dog.start_case(i, what.str(), replay(seed, i, keepalive.has_value(), native));
      auto u = run_copy<iouloop::userspace_engine<cp::policy>>(dog, c, seed + i);
      auto b = run_copy<iouloop::bpf_engine<cp::policy>>(dog, c, seed + i, cp_bpf::programs::cp{});
      same = u.ret == b.ret && u.exit.error == b.exit.error && u.exit.line == b.exit.line &&
             std::string(u.exit.file) == b.exit.file && u.end.in_flight == b.end.in_flight &&
             u.end.copied == b.end.copied && u.out == b.out;
      if (c.f == fault::none && same) same = u.ret == 0 && u.out == testfiles::pattern(c.size, seed + i);
      if (!same)
        what << " -> userspace ret " << u.ret << " (" << iouloop::describe(u.exit, u.ret) << ") copied " << u.end.copied
             << ", bpf ret " << b.ret << " (" << iouloop::describe(b.exit, b.ret) << ") copied " << b.end.copied;
      if (native && same) {
        auto k = run_copy<iouloop::kernel_engine<cp::policy>>(dog, c, seed + i);
        same = k.ret == b.ret && k.exit.error == b.exit.error && k.exit.line == b.exit.line &&
               std::string(k.exit.file) == b.exit.file && k.end.in_flight == b.end.in_flight &&
               k.end.copied == b.end.copied && k.out == b.out;
        if (!same)
          what << " -> native ret " << k.ret << " (" << iouloop::describe(k.exit, k.ret) << ") copied " << k.end.copied
               << ", bpf ret " << b.ret << " (" << iouloop::describe(b.exit, b.ret) << ") copied " << b.end.copied;
      }
    }
    const auto took = dog.end_case();
    if (took > slowest_ms) slowest_ms = took, slowest = i;
    ran++;
    if (!same) {
      differences++;
      FAIL_CHECK("case " << i << ": " << what.str() << "\n" << replay(seed, i, keepalive.has_value(), native));
    }
  }
  std::printf(
      "diff_fuzz: seed %llu, %llu cases run (%llu with injected failures), %llu differences; slowest case %llu "
      "(%lld ms)\n",
      seed, ran, faults, differences, slowest, static_cast<long long>(slowest_ms.count()));
  REQUIRE(differences == 0);
}
