// Every example's policy passes the verifier on rings of both SQ modes.
//
// The SQ view counts SQEs from the tail it reads when it is built; in
// SQ_REWIND mode that start used to be the constant 0, and with it the
// verifier followed every count of SQEs a step prepared as a state of its
// own: echo2, proxy and timer ran past its budget (E2BIG, "processed 1000001
// insns") on SQ_REWIND rings while loading on head/tail rings
// (iouloop/ring.hpp, sq_ring). Each row loads its program on a ring of the
// mode and prints what the verifier processed; the ring variants (the
// ring's sizes as constants) are loaded the same way.
#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <memory>
#include <string>

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
void loads_in_both_modes(const char* name, Program program, unsigned sq, unsigned cq) {
  // The policy's own program on both modes, and its ring variant
  // (IOULOOP_BPF_RING_VARIANT, for the ring its example's main makes) on
  // that ring, which the engine picks by itself.
  const std::string variant = std::string(name) + "_ring" + std::to_string(sq) + "x" + std::to_string(cq);
  for (const int mode : {0, 1, 2}) {
    const bool rewind = mode == 1, own = mode != 2;
    CAPTURE(name, rewind, own);
    iouloop::ring_options o;
    o.sq_entries = sq;
    o.cq_entries = cq;
    o.sq_rewind_where_supported = rewind;
    iouloop::ring r(o);
    REQUIRE(((r.flags() & iouloop::abi::setup::sq_rewind) != 0) == rewind);  // the VM's kernel has the flag
    iouloop::param_region<P> p;
    // Throws, with the verifier's log, if the load fails.
    auto e = own ? std::make_unique<iouloop::bpf_engine<P>>(r, p, program, iouloop::no_ring_variant)
                 : std::make_unique<iouloop::bpf_engine<P>>(r, p, program);
    REQUIRE(e->program() == (own ? std::string(name) : variant));
    const auto s = e->stats();
    std::printf("sq_modes: %-22s %-9s verifier processed %7u insns, %5u in the object\n", e->program().c_str(),
                rewind ? "rewind" : "head/tail", s.verified_insns, s.insns);
    CHECK(s.verified_insns > 0);
  }
}
}  // namespace

TEST_CASE("every example's policy passes the verifier on head/tail and SQ_REWIND rings, and its ring variant too",
          "[bpf][rewind]") {
  require_bpf_engine();
  loads_in_both_modes<nop::policy>("nop", nop_bpf::programs::nop{}, 64, 128);
  loads_in_both_modes<cp::policy>("cp", cp_bpf::programs::cp{}, 64, 128);
  loads_in_both_modes<cp::unlinked_policy>("cp_unlinked", cp_bpf::programs::cp_unlinked{}, 64, 128);
  loads_in_both_modes<cp::serial_policy>("cp_serial", cp_bpf::programs::cp_serial{}, 64, 128);
  loads_in_both_modes<echo::policy>("echo", echo_bpf::programs::echo{}, 64, 128);
  loads_in_both_modes<echo2::policy>("echo2", echo2_bpf::programs::echo2{}, 128, 4096);
  loads_in_both_modes<proxy::policy>("proxy", proxy_bpf::programs::proxy{}, 128, 4096);
  loads_in_both_modes<timer::policy>("timer", timer_bpf::programs::timer{}, 64, 128);
}
