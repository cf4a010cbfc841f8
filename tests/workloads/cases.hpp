// Workload cases shared by the engines: the NOP pipeline and the file copy,
// each as a table of parameters. IOULOOP_WORKLOAD_CASES(Runner) defines them.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "examples/cp/cp_policy.hpp"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/support/files.hpp"

namespace workload {

struct cp_outcome {
  int ret;
  cp::params end;
  iouloop::exit_record exit;
  std::vector<unsigned char> out;
};

// Copies `size` pattern bytes with the given block and depth on Runner, with
// cp::policy (a read linked to a write) or cp::unlinked_policy.
template <class Runner, class Policy = cp::policy>
cp_outcome run_copy(size_t size, iouloop::u32 block, iouloop::u32 depth, uint64_t seed) {
  auto data = testfiles::pattern(size, seed);
  testfiles::temp_file in("cp-in", data), out("cp-out");
  testfiles::buffers bufs(size_t(block) * depth);
  typename Runner::template session<Policy> s;
  s.params() = cp::make_params(in.fd(), out.fd(), size, bufs.addr(), block, depth);
  cp_outcome o;
  o.ret = s.run();
  o.end = s.params();
  o.exit = s.exit();
  o.out = out.read_all();
  return o;
}

}  // namespace workload
