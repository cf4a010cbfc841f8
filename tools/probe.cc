// iouloop-probe: what the running kernel supports for iouloop.
//   iouloop-probe          human-readable
//   iouloop-probe --json   one JSON object
// Exit status 0 when the BPF engine can run here, 1 when it cannot, 2 on
// bad usage.
#include <cstdio>
#include <cstring>

#include "iouloop/probe.hpp"

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      std::fprintf(stderr, "usage: %s [--json]\n  exit 0: the BPF engine can run; 1: it cannot\n", argv[0]);
      return 2;
    }
  }
  iouloop::probe_result r = iouloop::probe();
  std::fputs((json ? iouloop::to_json(r) + "\n" : iouloop::to_text(r)).c_str(), stdout);
  return r.bpf_engine() ? 0 : 1;
}
