// own_program: a program of your own, counted by bench/icount.sh. A copy
// of this file is where to start for your policy: build it static (here
// //bench/icount:own_program), then
//
//   bench/icount.sh --program 'mine-bpf=bazel-bin/bench/icount/own_program bpf 20000 8' \
//                   --program 'mine-user=bazel-bin/bench/icount/own_program userspace 20000 8'
//
// prints the guest instructions per operation of each (user, kernel,
// total), counted between the two markers below. Set-up and teardown stay
// outside: only the engine's run() is counted. This one runs examples/nop's
// policy, so its rows can be checked against bench/icount.sh's own
// nop-bpf-d8 and nop-user-d8 (tools/test.sh stage 4 does).
//
//   own_program bpf|userspace N DEPTH     N NOPs, DEPTH in flight
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/icount/marker.h"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/engine/select.hpp"

int main(int argc, char** argv) {
  try {
    if (argc != 4) throw iouloop::error(EINVAL, "usage: own_program bpf|userspace N DEPTH");
    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(argv[1]));
    const unsigned long total = std::strtoul(argv[2], nullptr, 10), depth = std::strtoul(argv[3], nullptr, 10);
    if (total < 1 || total > 0xffffffffu || depth < 1 || depth > 64)
      throw iouloop::error(EINVAL, "N must be 1..2^32-1 and DEPTH 1..64 (the ring has 64 SQEs)");

    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{unsigned(total), unsigned(depth), 0, 0, 0});
    iouloop::any_engine<nop::policy> engine(choice, ring, params, nop_bpf::programs::nop{});

    iou_region r;
    iou_region_begin_env(&r);  // the region's id from $IOUPERF_ID
    const int ret = engine.run();
    iou_region_end(&r);

    if (ret < 0) throw iouloop::error(-ret, "the loop ended early");
    if (params->completed != total || params->errors)
      throw iouloop::error(EIO, std::to_string(params->completed) + " of " + std::to_string(total) + " NOPs, " +
                                    std::to_string(params->errors) + " failed");
    iou_region_report_env(&r, total);  // its label from $IOUPERF_LABEL; instructions are counted per `total`
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "own_program: %s\n", e.what());
    return 1;
  }
}
