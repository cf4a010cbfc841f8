// Runs the consumer's policy as a native kernel callback: in the module its
// own list built (countdown_kmod), attached by type through kernel_engine.
// In a VM with that module loaded (tools/test.sh's kmod stage runs it so).
#include <cstdio>

#include "countdown_policy.hpp"
#include "iouloop/engine/kernel.hpp"
#include "iouloop/iouloop.hpp"
#include "native_policies.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

int main() {
  try {
    iouloop::ring ring;
    iouloop::param_region<countdown::policy> params(countdown::params{5, 0});
    iouloop::kernel_engine<countdown::policy> engine(ring, params);
    const int ret = engine.run();
    const bool ok = ret == 0 && params->seen == 5 && params->left == 0;
    std::printf("consumer native: ret %d, %u NOPs seen, %u left: %s\n", ret, params->seen, params->left,
                ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
  } catch (const iouloop::error& e) {
    std::printf("consumer native: %s\n", e.what());
    return 1;
  }
}
