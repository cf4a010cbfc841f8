// The BPF engine against the userspace engine, in the same boot of a kernel
// with io_uring_bpf_ops; and the C++ NOP policy against the same program
// hand-written in C (instructions as compiled, after the verifier's rewrite,
// and processed by the verifier).
//
//   bench/run_bpf_bench.sh        (builds it static and runs it in the VM)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/nop_c_bpf.bpf.h"
#include "bench/spin_bpf.bpf.h"
#include "bench/spin_policy.hpp"
#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/files.hpp"

namespace {
using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

template <class Engine, class... Extra>
double nops(unsigned total, unsigned depth, Extra&&... extra) {
  iouloop::ring r;
  iouloop::param_region<nop::policy> p(nop::params{total, depth, 0, 0, 0});
  Engine e(r, p, extra...);
  auto t0 = clock_type::now();
  int ret = e.run();
  double rate = total / seconds_since(t0);
  if (ret != 0 || p->completed != total) {
    std::fprintf(stderr, "NOP run failed: ret %d completed %u\n", ret, p->completed);
    std::exit(1);
  }
  return rate;
}

template <class Engine, class... Extra>
double spins(unsigned total, Extra&&... extra) {
  iouloop::ring r;
  iouloop::param_region<spin::policy> p(spin::params{0, total});
  Engine e(r, p, extra...);
  auto t0 = clock_type::now();
  int ret = e.run();
  double rate = total / seconds_since(t0);
  if (ret != 0 || p->steps != total) std::exit(1);
  return rate;
}

template <class Engine, class... Extra>
double copy(size_t size, unsigned block, unsigned depth, Extra&&... extra) {
  testfiles::temp_file in("bench-in", testfiles::pattern(size, 3)), out("bench-out");
  testfiles::buffers bufs(size_t(block) * depth);
  iouloop::ring r;
  iouloop::param_region<cp::policy> p(cp::make_params(in.fd(), out.fd(), size, bufs.addr(), block, depth));
  Engine e(r, p, extra...);
  auto t0 = clock_type::now();
  int ret = e.run();
  double rate = (size / double(block)) / seconds_since(t0);
  if (ret != 0 || out.read_all() != testfiles::pattern(size, 3)) {
    std::fprintf(stderr, "copy failed: ret %d: %s\n", ret, iouloop::describe(p.exit(), ret).c_str());
    std::exit(1);
  }
  return rate;
}

template <class A, class B>
void compare(const char* what, const char* unit, int rounds, A bpf, B user) {
  double best_b = 0, best_u = 0;
  for (int i = 0; i < rounds; ++i) {
    double b = bpf(), u = user();
    best_b = b > best_b ? b : best_b;
    best_u = u > best_u ? u : best_u;
  }
  std::printf("%-26s bpf %12.0f %s   userspace %12.0f %s   bpf/userspace %.2fx\n", what, best_b, unit, best_u, unit,
              best_b / best_u);
}

void insn_figures(const char* label, const iouloop::bpf_image& image, const char* program) {
  iouloop::ring r;
  iouloop::param_region<nop::policy> p(nop::params{1, 1, 0, 0, 0});
  iouloop::bpf_engine<nop::policy> e(r, p, image, program);
  auto s = e.stats();
  std::printf("%-34s insns %4u   xlated %4u   verifier processed %6u   jited %5u bytes\n", label, s.insns,
              s.xlated_insns, s.verified_insns, s.jited_bytes);
}
}  // namespace

int main(int argc, char** argv) {
  unsigned total = argc > 1 ? unsigned(std::strtoul(argv[1], nullptr, 10)) : 200000;
  int rounds = 3;
  iouloop::probe_result pr = iouloop::probe();
  if (!pr.bpf_engine()) {
    std::printf("SKIPPED: bpf_bench: %s\n", pr.bpf_engine_problem().c_str());
    return 77;
  }
  std::printf("BPF engine figures, kernel %s\n", pr.kernel.c_str());
  insn_figures("NOP policy, C++ combinators", nop_bpf::image(), "nop");
  insn_figures("NOP policy, C++ by hand", nop_bpf::image(), "nop_by_hand");
  insn_figures("NOP program, hand-written C", nop_c_bpf::image(), "nop_c");

  compare(
      "empty steps (loop overhead)", "st/s", rounds,
      [&] { return spins<iouloop::bpf_engine<spin::policy>>(total * 5, spin_bpf::programs::spin{}); },
      [&] { return spins<iouloop::userspace_engine<spin::policy>>(total * 5); });
  using U = iouloop::userspace_engine<nop::policy>;
  using B = iouloop::bpf_engine<nop::policy>;
  compare(
      "NOP chain, 1 in flight", "ops/s", rounds, [&] { return nops<B>(total, 1, nop_bpf::programs::nop{}); },
      [&] { return nops<U>(total, 1); });
  compare(
      "NOP chain, 32 in flight", "ops/s", rounds, [&] { return nops<B>(total * 4, 32, nop_bpf::programs::nop{}); },
      [&] { return nops<U>(total * 4, 32); });
  using UC = iouloop::userspace_engine<cp::policy>;
  using BC = iouloop::bpf_engine<cp::policy>;
  compare(
      "file copy, 64 KiB x 16", "blk/s", rounds, [&] { return copy<BC>(64u << 20, 65536, 16, cp_bpf::programs::cp{}); },
      [&] { return copy<UC>(64u << 20, 65536, 16); });
  compare(
      "file copy, 4 KiB x 32", "blk/s", rounds, [&] { return copy<BC>(32u << 20, 4096, 32, cp_bpf::programs::cp{}); },
      [&] { return copy<UC>(32u << 20, 4096, 32); });
  return 0;
}
