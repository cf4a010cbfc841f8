// iouloop server: the unprivileged half. Makes its ring and param region,
// asks the loader to attach the nop policy, runs the loop with its own
// io_uring_enter. Links no libbpf and needs no capability.
//
//   server --socket PATH [--total N] [--depth D]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "examples/loader/protocol.hpp"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/attached.hpp"

int main(int argc, char** argv) {
  std::string path;
  unsigned long total = 100000, depth = 32;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc)
      path = argv[++i];
    else if (a == "--total" && i + 1 < argc)
      total = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--depth" && i + 1 < argc)
      depth = std::strtoul(argv[++i], nullptr, 10);
    else
      path.clear(), i = argc;
  }
  if (path.empty() || depth < 1 || depth > 64) {
    std::fprintf(stderr, "usage: %s --socket PATH [--total N] [--depth 1..64]\n", argv[0]);
    return 2;
  }
  try {
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{unsigned(total), unsigned(depth), 0, 0, 0});
    iouloop::attached_loop<nop::policy> loop(ring, params);
    loader::session attached(path, ring, params, "nop");
    int ret = loop.run();
    if (ret < 0) throw iouloop::error(-ret, "the loop ended early");
    std::printf("server: %u NOPs completed (%u errors) by a loop the loader attached\n", params->completed,
                params->errors);
    return params->errors ? 1 : 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "server: %s\n", e.what());
    return 1;
  }
}
