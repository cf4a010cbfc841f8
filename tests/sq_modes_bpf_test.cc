// Every example's policy passes the verifier on rings of both SQ modes.
//
// The SQ view counts SQEs from the tail it reads when it is built; in
// SQ_REWIND mode that start used to be the constant 0, and with it the
// verifier followed every count of SQEs a step prepared as a state of its
// own: echo2, proxy and timer ran past its budget (E2BIG, "processed 1000001
// insns") on SQ_REWIND rings while loading on head/tail rings
// (iouloop/ring.hpp, sq_ring). Each row loads its program on a ring of the
// mode and prints what the verifier processed.
#include <catch2/catch_test_macros.hpp>
#include <cstdio>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_policy.hpp"
#include "examples/echo2/echo2_bpf.bpf.h"
#include "examples/echo2/echo2_policy.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "examples/proxy/proxy_bpf.bpf.h"
#include "examples/proxy/proxy_policy.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"
#include "tests/support/runners.hpp"

namespace {
template <class P, class Program>
void loads_in_both_modes(const char* name, Program program) {
  for (const bool rewind : {false, true}) {
    CAPTURE(name, rewind);
    iouloop::ring_options o;
    o.sq_rewind_where_supported = rewind;
    iouloop::ring r(o);
    REQUIRE(((r.flags() & iouloop::abi::setup::sq_rewind) != 0) == rewind);  // the VM's kernel has the flag
    iouloop::param_region<P> p;
    iouloop::bpf_engine<P> e(r, p, program);  // throws, with the verifier's log, if the load fails
    const auto s = e.stats();
    std::printf("sq_modes: %-6s %-9s verifier processed %7u insns, %5u in the object\n", name,
                rewind ? "rewind" : "head/tail", s.verified_insns, s.insns);
    CHECK(s.verified_insns > 0);
  }
}
}  // namespace

TEST_CASE("every example's policy passes the verifier on head/tail and SQ_REWIND rings", "[bpf][rewind]") {
  require_bpf_engine();
  loads_in_both_modes<nop::policy>("nop", nop_bpf::programs::nop{});
  loads_in_both_modes<cp::policy>("cp", cp_bpf::programs::cp{});
  loads_in_both_modes<echo::policy>("echo", echo_bpf::programs::echo{});
  loads_in_both_modes<echo2::policy>("echo2", echo2_bpf::programs::echo2{});
  loads_in_both_modes<proxy::policy>("proxy", proxy_bpf::programs::proxy{});
  loads_in_both_modes<timer::policy>("timer", timer_bpf::programs::timer{});
}
