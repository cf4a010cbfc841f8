// Runs the consumer's policy on the userspace engine, and checks that the
// embedded BPF object holds the program the rule built.
#include <cstdio>

#include "countdown_bpf.bpf.h"
#include "countdown_policy.hpp"
#include "iouloop/iouloop.hpp"

int main() {
  iouloop::ring ring;
  iouloop::param_region<countdown::policy> params(countdown::params{5, 0});
  iouloop::userspace_engine<countdown::policy> engine(ring, params);
  int ret = engine.run();
  iouloop::bpf_object object(countdown_bpf::image(), "countdown");  // opens; finds the program by name
  bool ok = ret == 0 && params->seen == 5 && object.program() != nullptr && object.meta().params_bytes == 8;
  std::printf("consumer: ret %d, %u NOPs seen, BPF program %s: %s\n", ret, params->seen,
              object.program() ? "found" : "missing", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
