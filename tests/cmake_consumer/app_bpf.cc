// The CMake consumer's policy on the BPF engine (built statically as
// app_bpf_static; tools/test.sh stage 5 runs it in the VM). Exit 77 with the
// reason where the kernel has no io_uring_bpf_ops.
#include <cstdio>

#include "countdown_bpf.bpf.h"
#include "countdown_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"
#include "iouloop/probe.hpp"

int main() {
  const iouloop::probe_result pr = iouloop::probe();
  if (!pr.bpf_engine()) {
    std::printf("cmake consumer: SKIPPED: BPF engine unavailable on kernel %s: %s\n", pr.kernel.c_str(),
                pr.bpf_engine_problem().c_str());
    return 77;
  }
  iouloop::ring ring;
  iouloop::param_region<countdown::policy> params(countdown::params{5, 0});
  iouloop::bpf_engine<countdown::policy> engine(ring, params, countdown_bpf::programs::countdown{});
  const int ret = engine.run();
  const bool ok = ret == 0 && params->seen == 5;
  std::printf("cmake consumer (BPF engine): ret %d, %u NOPs seen: %s\n", ret, params->seen, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
