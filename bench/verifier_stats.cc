// Loads every example's BPF program and prints what the kernel says of it:
// instructions in the object, after the verifier's rewrites (xlated), the
// instructions the verifier processed, JITed bytes. Runs in the VM
// (tools/vm/run.sh bazel-bin/bench/verifier_stats), for before/after
// comparisons of the library's cost.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_policy.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"

namespace {
template <class P>
int show(const char* label, const iouloop::bpf_image& image, const char* program) {
  try {
    iouloop::ring r;
    iouloop::param_region<P> p;
    iouloop::bpf_engine<P> e(r, p, image, program);
    const auto s = e.stats();
    std::printf("%-18s insns %5u   xlated %5u   verifier processed %7u   jited %6u bytes\n", label, s.insns,
                s.xlated_insns, s.verified_insns, s.jited_bytes);
    return 0;
  } catch (const iouloop::error& e) {
    std::printf("%-18s FAILED: %s\n", label, e.what());
    return 1;
  }
}

// The same for BPF objects built elsewhere (variants of an example's
// object), loaded with that example's policy.
template <class P>
int show_files(const char* program, int argc, char** argv) {
  int bad = 0;
  for (int i = 0; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (bytes.empty()) {
      std::printf("%-18s FAILED: cannot read %s\n", argv[i], argv[i]);
      ++bad;
      continue;
    }
    bad += show<P>(argv[i], iouloop::bpf_image{bytes.data(), bytes.size(), argv[i]}, program);
  }
  return bad;
}
}  // namespace

int main(int argc, char** argv) {
  // `verifier_stats [POLICY FILE...]...`: each FILE loaded with the POLICY before it.
  if (argc > 1) {
    int bad = 0;
    for (int i = 1; i < argc;) {
      const std::string which = argv[i];
      int j = i + 1;
      while (j < argc && std::strcmp(argv[j], "nop") && std::strcmp(argv[j], "cp") && std::strcmp(argv[j], "echo") &&
             std::strcmp(argv[j], "timer"))
        ++j;
      if (which == "nop")
        bad += show_files<nop::policy>("nop", j - i - 1, argv + i + 1);
      else if (which == "cp")
        bad += show_files<cp::policy>("cp", j - i - 1, argv + i + 1);
      else if (which == "echo")
        bad += show_files<echo::policy>("echo", j - i - 1, argv + i + 1);
      else if (which == "timer")
        bad += show_files<timer::policy>("timer", j - i - 1, argv + i + 1);
      else
        return std::printf("usage: verifier_stats [nop|cp|echo|timer FILE.bpf.o...]...\n"), 2;
      i = j;
    }
    return bad ? 1 : 0;
  }
  int bad = 0;
  bad += show<nop::policy>("nop", nop_bpf::image(), "nop");
  bad += show<nop::nop_by_hand>("nop_by_hand", nop_bpf::image(), "nop_by_hand");
  bad += show<cp::policy>("cp", cp_bpf::image(), "cp");
  bad += show<echo::policy>("echo", echo_bpf::image(), "echo");
  bad += show<timer::policy>("timer", timer_bpf::image(), "timer");
  return bad ? 1 : 0;
}
