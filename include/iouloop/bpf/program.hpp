// iouloop/bpf/program.hpp — turns a policy into an io_uring_bpf_ops program.
//
// In a translation unit compiled with clang -target bpf (the
// iouloop_bpf_program Bazel rule does it):
//
//   #include <iouloop/bpf/program.hpp>
//   #include "nop_policy.hpp"
//   IOULOOP_BPF_POLICY(nop, nop::policy)
//
// defines the sleepable program `nop_step` (section struct_ops.s/nop_step)
// and the struct_ops map `nop_ops` (section .struct_ops.link); the host
// finds both by the name "nop". The host side
// (iouloop/engine/bpf.hpp) fills in the ring layout and ring_fd before load.
//
// Rules this file follows, each learnt from the kernel or libbpf refusing
// something else: everything reaching BTF is a plain C struct at global scope
// (a template, method or base class in such a type makes the kernel reject
// the object's BTF); programs and maps are extern "C" (else mangled names
// become their names); every function is inlined (libbpf cannot relocate a
// call to a C++ inline function or template, emitted in a COMDAT section of
// its own): the iouloop_bpf_program rule compiles the translation unit with
// every function always-inline, and fails the build, naming the function,
// on a call that is left (bpf/call_check.cc); no standard library.
#pragma once

#if !defined(__bpf__)
#error "iouloop/bpf/program.hpp is for BPF translation units: compile with clang -target bpf (see bpf/defs.bzl)"
#endif

#include "iouloop/bpf/shared.hpp"
#include "iouloop/policy.hpp"

extern "C" int bpf_io_uring_submit_sqes(struct iou_ctx* ctx, unsigned int nr) __attribute__((section(".ksyms")));
extern "C" unsigned char* bpf_io_uring_get_region(struct iou_ctx* ctx, unsigned int id, const unsigned long size)
    __attribute__((section(".ksyms")));

// ---- what the host fills in before load -----------------------------------
// In a section of its own (a map of its own, at offset 0), so that the host
// finds it whatever else the policy puts in .rodata; read-only and frozen,
// so the verifier sees its fields as constants.
extern "C" const volatile struct iouloop_bpf_config iouloop_config
    __attribute__((section(".rodata.iouloop_config"), weak)) = {};

extern "C" const char iouloop_license[] __attribute__((section("license"), used, weak)) = "GPL";

namespace iouloop::bpf {

struct kfunc_backend {
  struct iou_ctx* ctx;
  IOULOOP_INLINE int submit_sqes(u32 n) const { return bpf_io_uring_submit_sqes(ctx, n); }
};

// The views' layout and the two ring regions' sizes: for any ring, from the
// rodata the host fills in; for a ring of one shape, constants.
template <u32 SqEntries, u32 CqEntries>
struct step_rings {
  struct layout : sized_rings<SqEntries, CqEntries> {
    IOULOOP_INLINE explicit layout(const volatile iouloop_ring_layout&) {}
  };
  static IOULOOP_INLINE u32 rings_bytes() { return layout::rings_bytes; }
  static IOULOOP_INLINE u32 sqes_bytes() { return layout::sqes_bytes; }
};
template <>
struct step_rings<0, 0> {
  using layout = fixed_rings<const volatile iouloop_ring_layout>;
  static IOULOOP_INLINE u32 rings_bytes() { return iouloop_config.layout.rings_size; }
  static IOULOOP_INLINE u32 sqes_bytes() { return iouloop_config.layout.sqes_size; }
};

// The step for policy P, with ctx[0] = iou_ctx *, ctx[1] = iou_loop_params *.
// Returns an invalid value (so the kernel ends the loop with -EINVAL) if a
// region is missing: the host registers all three before attaching.
// SqEntries and CqEntries 0: for any ring (its sizes from rodata); else for
// a ring of that shape only (IOULOOP_BPF_RING_VARIANT).
template <class P, u32 SqEntries = 0, u32 CqEntries = 0>
IOULOOP_INLINE int run_step(unsigned long long* ctx) {
  using params_type = typename policy_traits<P>::params_type;
  struct iou_ctx* c = reinterpret_cast<struct iou_ctx*>(ctx[0]);
  struct iou_loop_params* lp = reinterpret_cast<struct iou_loop_params*>(ctx[1]);

  // The io_rings offsets as constants (the host checked the ring against
  // them); the ring's sizes and mode from rodata or, in a ring variant,
  // constants too. The sizes bound every ring access.
  using shape = step_rings<SqEntries, CqEntries>;
  const typename shape::layout layout(iouloop_config.layout);
  u8* rings = bpf_io_uring_get_region(c, abi::region_cq, shape::rings_bytes());
  u8* sqes = bpf_io_uring_get_region(c, abi::region_sq, shape::sqes_bytes());
  // The whole region: the params at its start, the exit record at its end.
  u8* prm = bpf_io_uring_get_region(c, abi::region_mem, policy_traits<P>::region_bytes);
  if (!rings || !sqes || !prm) return -1;

  kfunc_backend backend{c};
  exit_record& exit = detail::exit_record_in(prm, policy_traits<P>::region_bytes);
  loop<kfunc_backend, params_type> l(backend, rings, sqes, *reinterpret_cast<params_type*>(prm),
                                     iouloop_config.params_uaddr, layout, &lp->cq_wait_idx, exit);
  if (detail::stale_wake_guard(l.cq, lp->cq_wait_idx, exit)) return loop_stop;
  return detail::run_one_step<P>(l, exit);
}

}  // namespace iouloop::bpf

#define IOULOOP_BPF_STRINGIFY_(x) #x
#define IOULOOP_BPF_STRINGIFY(x) IOULOOP_BPF_STRINGIFY_(x)

// Defines program NAME_step, struct_ops map NAME_ops and metadata NAME_meta
// for POLICY. NAME must be a C identifier; the host finds the program by it.
//
// IOULOOP_BPF_RING_VARIANT(NAME, POLICY, SQ, CQ), after it, adds the same
// step compiled for a ring of SQ SQEs and CQ CQEs (integer literals), named
// NAME_ringSQxCQ: the ring sizes are then constants in the step (its masks
// immediates, fewer loads and spills; about 20 instructions per step,
// docs/cost.md "Ring variants"). The host picks it by itself: a bpf_engine
// (or bpf_object) asked for NAME on a ring of that shape loads the variant,
// on any other ring NAME; only the one chosen is loaded and verified.
//
// With IOULOOP_LAYOUT_PROBE defined (the rule's second compile of the same
// translation unit, into a probe object that is never loaded), it defines
// instead NAME_layout_probe (a pointer to the policy's params_type) and
// NAME_layout_region (a pointer to an array of region_bytes bytes): their
// BTF is how bpf/btf_layout.cc learns the params layout the BPF side was
// compiled with. The probe's BTF may hold C++ types the kernel would refuse,
// which is why it lives in an object of its own.
#if defined(IOULOOP_LAYOUT_PROBE)
#define IOULOOP_BPF_POLICY(NAME, POLICY)                                                                               \
  static_assert(sizeof(#NAME) <= 48, "IOULOOP_BPF_POLICY: name too long (47 characters at most)");                     \
  extern "C" __attribute__((used)) typename ::iouloop::policy_traits<POLICY>::params_type* const NAME##_layout_probe = \
      nullptr;                                                                                                         \
  extern "C" __attribute__((used))                                                                                     \
  const unsigned char(*const NAME##_layout_region)[::iouloop::policy_traits<POLICY>::region_bytes] = nullptr
#define IOULOOP_BPF_RING_VARIANT(NAME, POLICY, SQ, CQ)                                                      \
  static_assert((SQ) > 0 && (CQ) > 0, "IOULOOP_BPF_RING_VARIANT: SQ and CQ are the ring's entries, not 0"); \
  static_assert(sizeof(IOULOOP_BPF_STRINGIFY(NAME##_ring##SQ##x##CQ)) <= 48,                                \
                "IOULOOP_BPF_RING_VARIANT: name too long (NAME_ringSQxCQ: 47 characters at most)")
#else
#define IOULOOP_BPF_POLICY(NAME, POLICY)                                                                              \
  static_assert(sizeof(#NAME) <= 48, "IOULOOP_BPF_POLICY: name too long (47 characters at most)");                    \
  extern "C" __attribute__((section("struct_ops.s/" #NAME "_step"), used)) int NAME##_step(unsigned long long* ctx) { \
    return ::iouloop::bpf::run_step<POLICY>(ctx);                                                                     \
  }                                                                                                                   \
  extern "C" __attribute__((section(".struct_ops.link"), used)) struct io_uring_bpf_ops NAME##_ops = {                \
      .loop_step = reinterpret_cast<int (*)(struct iou_ctx*, struct iou_loop_params*)>(&NAME##_step),                 \
  };                                                                                                                  \
  extern "C" __attribute__((section(".rodata.iouloop"), used)) const struct iouloop_policy_meta NAME##_meta = {       \
      #NAME, sizeof(typename ::iouloop::policy_traits<POLICY>::params_type),                                          \
      ::iouloop::policy_traits<POLICY>::region_bytes}
#define IOULOOP_BPF_RING_VARIANT(NAME, POLICY, SQ, CQ)                                                               \
  static_assert((SQ) > 0 && (CQ) > 0, "IOULOOP_BPF_RING_VARIANT: SQ and CQ are the ring's entries, not 0");          \
  static_assert(sizeof(IOULOOP_BPF_STRINGIFY(NAME##_ring##SQ##x##CQ)) <= 48,                                         \
                "IOULOOP_BPF_RING_VARIANT: name too long (NAME_ringSQxCQ: 47 characters at most)");                  \
  extern "C" __attribute__((section("struct_ops.s/" IOULOOP_BPF_STRINGIFY(NAME##_ring##SQ##x##CQ) "_step"),          \
                            used)) int NAME##_ring##SQ##x##CQ##_step(unsigned long long* ctx) {                      \
    return ::iouloop::bpf::run_step<POLICY, SQ, CQ>(ctx);                                                            \
  }                                                                                                                  \
  extern "C"                                                                                                         \
      __attribute__((section(".struct_ops.link"), used)) struct io_uring_bpf_ops NAME##_ring##SQ##x##CQ##_ops = {    \
          .loop_step =                                                                                               \
              reinterpret_cast<int (*)(struct iou_ctx*, struct iou_loop_params*)>(&NAME##_ring##SQ##x##CQ##_step),   \
  };                                                                                                                 \
  extern "C" __attribute__((section(".rodata.iouloop"), used))                                                       \
  const struct iouloop_policy_meta NAME##_ring##SQ##x##CQ##_meta = {                                                 \
      IOULOOP_BPF_STRINGIFY(NAME##_ring##SQ##x##CQ), sizeof(typename ::iouloop::policy_traits<POLICY>::params_type), \
      ::iouloop::policy_traits<POLICY>::region_bytes, SQ, CQ}
#endif
