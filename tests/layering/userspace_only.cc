// A host program that runs a policy on the userspace engine and nothing
// else: it depends on //:userspace, so libbpf is not linked (checked by
// links_no_libbpf_test.sh).
#include <cstdio>

#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/userspace.hpp"

int main() {
  iouloop::ring ring;
  iouloop::param_region<nop::policy> params(nop::params{.total = 100, .depth = 8});
  iouloop::userspace_engine<nop::policy> e(ring, params);
  const int ret = e.run();
  std::printf("ret %d, %u NOPs completed\n", ret, params->completed);
  return ret == 0 && params->completed == 100 ? 0 : 1;
}
