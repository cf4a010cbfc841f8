#include <cstdio>
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "iouloop/probe.hpp"
int main() {
  auto pr = iouloop::probe();
  std::fputs(iouloop::to_text(pr).c_str(), stdout);
  try {
    iouloop::ring r;
    iouloop::param_region<nop::policy> p(nop::params{1000, 8, 0, 0, 0});
    iouloop::bpf_engine<nop::policy> e(r, p, nop_bpf::image(), "nop_composed");
    int ret = e.run();
    auto st = e.stats();
    std::printf("ret=%d submitted=%u completed=%u errors=%u insns=%u xlated=%u verified=%u\n", ret, p->submitted, p->completed, p->errors, st.insns, st.xlated_insns, st.verified_insns);
  } catch (const std::exception& ex) {
    std::printf("error: %s\n", ex.what());
    return 1;
  }
}
