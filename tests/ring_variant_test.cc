// Ring variants (IOULOOP_BPF_RING_VARIANT, iouloop/bpf/program.hpp): a
// policy's step compiled for one ring shape. The host picks the variant by
// itself for a ring of that shape and the policy's own program for any other
// ring, and refuses a variant named for a ring it was not compiled for.
// Opening and configuring an object needs no kernel support, so this runs on
// any host; tests/engines_bpf_test.cc runs both in the VM.
#include <bpf/libbpf.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <string>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/nop/nop_bpf.bpf.h"
#include "iouloop/engine/bpf.hpp"

using Catch::Matchers::ContainsSubstring;
using iouloop::ring_layout;
namespace abi = iouloop::abi;

namespace {
// A ring's layout as the kernel gives it for these sizes: the io_rings
// offsets are the ones the library's views assume (iouloop::io_rings).
ring_layout layout(unsigned sq, unsigned cq, unsigned flags = 0) {
  namespace off = iouloop::io_rings;
  ring_layout l{};
  l.sq_head = off::sq_head, l.sq_tail = off::sq_tail, l.cq_head = off::cq_head, l.cq_tail = off::cq_tail;
  l.cq_cqes = off::cqes;
  l.sq_entries = sq, l.cq_entries = cq;
  l.rings_size = off::cqes + cq * sizeof(abi::cqe), l.sqes_size = sq * sizeof(abi::sqe);
  l.setup_flags = abi::setup::single_issuer | abi::setup::defer_taskrun | abi::setup::no_sqarray | flags;
  return l;
}
size_t insns(const iouloop::bpf_object& o) { return bpf_program__insn_cnt(o.program()); }
}  // namespace

TEST_CASE("a ring variant is chosen for its ring shape only", "[ring-variant]") {
  const ring_layout l64 = layout(64, 128), l256 = layout(256, 512), l64_256 = layout(64, 256);
  const ring_layout rewind = layout(64, 128, abi::setup::sq_rewind);
  CHECK(iouloop::bpf_object(nop_bpf::image(), "nop", &l64).program_name() == "nop_ring64x128");
  CHECK(iouloop::bpf_object(nop_bpf::image(), "nop", &l256).program_name() == "nop");
  CHECK(iouloop::bpf_object(nop_bpf::image(), "nop", &l64_256).program_name() == "nop");
  // A variant's step counts from the SQ head and tail: a rewind ring gets
  // the policy's own program.
  CHECK(iouloop::bpf_object(nop_bpf::image(), "nop", &rewind).program_name() == "nop");
  CHECK(iouloop::bpf_object(nop_bpf::image(), "nop").program_name() == "nop");
  // A policy without a variant keeps its own program on every ring.
  CHECK(iouloop::bpf_object(nop_bpf::image(), "nop_by_hand", &l64).program_name() == "nop_by_hand");
  CHECK(iouloop::bpf_object(cp_bpf::image(), "cp_unlinked", &l64).program_name() == "cp_unlinked_ring64x128");
}

TEST_CASE("a ring variant's metadata names its ring, and only its program is loaded", "[ring-variant]") {
  const ring_layout l64 = layout(64, 128);
  iouloop::bpf_object v(nop_bpf::image(), "nop", &l64);
  iouloop_policy_meta m = v.meta();
  CHECK(std::string(m.name) == "nop_ring64x128");
  CHECK(m.sq_entries == 64);
  CHECK(m.cq_entries == 128);
  iouloop::bpf_object any(nop_bpf::image(), "nop");
  CHECK(any.meta().sq_entries == 0);
  CHECK(any.meta().params_bytes == m.params_bytes);
  CHECK(any.meta().region_bytes == m.region_bytes);
  int loaded = 0;
  ::bpf_program* p;
  bpf_object__for_each_program(p, v.get()) loaded += bpf_program__autoload(p) ? 1 : 0;
  CHECK(loaded == 1);
  CHECK(bpf_program__autoload(v.program()));
  CHECK(std::string(bpf_program__name(v.program())) == "nop_ring64x128_step");
}

TEST_CASE("a ring variant is shorter than its policy's step", "[ring-variant][zero-cost]") {
  // The ring's sizes are constants in it: no loads of them, masks as
  // immediates (docs/cost.md, "Ring variants").
  const ring_layout l64 = layout(64, 128);
  for (const char* name : {"cp", "cp_unlinked", "cp_serial"}) {
    CAPTURE(name);
    iouloop::bpf_object any(cp_bpf::image(), name), v(cp_bpf::image(), name, &l64);
    CAPTURE(insns(any), insns(v));
    CHECK(insns(v) < insns(any));
  }
  iouloop::bpf_object any(nop_bpf::image(), "nop"), v(nop_bpf::image(), "nop", &l64);
  CAPTURE(insns(any), insns(v));
  CHECK(insns(v) < insns(any));
}

TEST_CASE("a ring variant named for another ring is refused, saying which ring it needs", "[ring-variant]") {
  const ring_layout l256 = layout(256, 512), rewind = layout(64, 128, abi::setup::sq_rewind);
  iouloop::bpf_object v(nop_bpf::image(), "nop_ring64x128", &l256);
  CHECK(v.program_name() == "nop_ring64x128");
  REQUIRE_THROWS_WITH(v.configure(l256, 3, 0x1000),
                      ContainsSubstring("compiled for a head/tail ring of 64 SQEs and 128 CQEs") &&
                          ContainsSubstring("this ring has 256 and 512") &&
                          ContainsSubstring("ring_options{.sq_entries = 64, .cq_entries = 128}"));
  iouloop::bpf_object w(nop_bpf::image(), "nop_ring64x128", &rewind);
  REQUIRE_THROWS_WITH(w.configure(rewind, 3, 0x1000), ContainsSubstring("and IORING_SETUP_SQ_REWIND"));
  // The ring it was compiled for is accepted.
  const ring_layout l64 = layout(64, 128);
  iouloop::bpf_object ok(nop_bpf::image(), "nop_ring64x128", &l64);
  REQUIRE_NOTHROW(ok.configure(l64, 3, 0x1000));
}
