// iouloop nop: the composition example. Its step (nop_policy.hpp) is built
// from the library's combinators only; this runs it on the chosen engine.
//
//   nop [--engine auto|userspace|bpf] [--total N] [--depth D]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/select.hpp"

int main(int argc, char** argv) {
  std::string engine = "auto";
  unsigned long total = 1000000, depth = 32;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (i + 1 >= argc)
        throw iouloop::error(EINVAL, "usage: nop [--engine auto|userspace|bpf] [--total N] [--depth D]");
      std::string v = argv[++i];
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (a == "--engine")
        engine = v;
      else if ((a == "--total" || a == "--depth") && !v.empty() && !*end)
        (a == "--total" ? total : depth) = n;
      else
        throw iouloop::error(EINVAL, "bad option " + a + " " + v + ": use --engine E, --total N, --depth D");
    }
    if (depth < 1 || depth > 4096 || total > 0xffffffffu)
      throw iouloop::error(EINVAL, "--depth must be 1..4096 and --total below 2^32");
    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(engine));
    std::printf("engine: %s\n", choice.describe().c_str());
    iouloop::ring_options o;
    o.sq_entries = depth < 64 ? 64 : unsigned(depth);
    iouloop::ring ring(o);
    iouloop::param_region<nop::policy> params(nop::params{unsigned(total), unsigned(depth), 0, 0, 0});
    iouloop::any_engine<nop::policy> e(choice, ring, params, nop_bpf::programs::nop{});
    auto t0 = std::chrono::steady_clock::now();
    int ret = e.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ret < 0) throw iouloop::error(-ret, "the loop ended early");
    std::printf("%u NOPs completed (%u errors), depth %lu: %.0f NOPs/s\n", params->completed, params->errors, depth,
                params->completed / (secs > 0 ? secs : 1e-9));
    return params->errors ? 1 : 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "nop: %s\n", e.what());
    return 1;
  }
}
