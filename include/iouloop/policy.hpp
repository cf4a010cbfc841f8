// iouloop/policy.hpp — what a policy sees (the loop) and what it must be.
//
// A policy is a type with
//   using params_type = P;                      // lives in the param region
//   template <class Loop> static int step(Loop& loop);
// and optionally `static constexpr usize param_region_bytes` (default 4096).
// step() returns iouloop::loop_continue or iouloop::loop_stop; anything else
// ends the loop with -EINVAL, as in the kernel. The same step compiles for
// the userspace engine and, through iouloop/bpf/program.hpp, for BPF.
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/ring.hpp"
#include "iouloop/sqe.hpp"
#include "iouloop/traits.hpp"
#include "iouloop/user_data.hpp"

namespace iouloop {

inline constexpr int loop_continue = abi::loop_continue;
inline constexpr int loop_stop = abi::loop_stop;
inline constexpr usize default_param_region_bytes = 4096;

// `v & (Size - 1)`, kept even where the compiler can prove it is a no-op
// (a value read from a constant table, say): the BPF verifier cannot, and
// needs the mask to bound an array index.
template <u32 Size>
IOULOOP_INLINE u32 index_below(u32 v) {
  static_assert(Size && (Size & (Size - 1)) == 0, "index_below<Size>: Size must be a power of two");
  asm volatile("" : "+r"(v));  // hide the value's known range from the optimiser
  return v & (Size - 1);
}

// The loop as one step sees it. `Backend` is where submission goes: the
// kfunc bpf_io_uring_submit_sqes in BPF, io_uring_enter on the host.
template <class Backend, class Params>
class loop {
 public:
  using params_type = Params;

  // `params_uaddr` is the user-space address of the param region: the BPF
  // step sees the region through a kernel mapping, but SQEs need user
  // addresses. It and `layout` are read only where used (on BPF they are
  // rodata, and every read of it is an instruction).
  template <class Layout>
  IOULOOP_INLINE loop(Backend& backend, u8* rings, u8* sqes, Params& params, const volatile u64& params_uaddr,
                      Layout& layout, u32* cq_wait_idx)
      : sq(rings, sqes, layout),
        cq(rings, layout),
        params(params),
        backend_(backend),
        params_uaddr_(&params_uaddr),
        cq_wait_idx_(cq_wait_idx) {}

  sq_ring sq;
  cq_ring cq;
  Params& params;

  // Submits every SQE waiting in the SQ. Returns how many were submitted, or
  // -errno, following io_uring_enter's rules.
  IOULOOP_INLINE int submit() {
    u32 n = sq.flush();
    if (n == 0) return 0;
    int r = backend_.submit_sqes(n);
    sq.submitted();
    return r;
  }

  // After this step, sleep until `n` CQEs beyond the consumed ones exist.
  // A hint: the next step may run early (spurious wake-ups are normal).
  IOULOOP_INLINE void wait_cqes(u32 n) { *cq_wait_idx_ = cq.head() + n; }
  // The raw iou_loop_params.cq_wait_idx: sleep while cq.tail is before it.
  IOULOOP_INLINE void set_cq_wait_idx(u32 idx) { *cq_wait_idx_ = idx; }
  IOULOOP_INLINE u32 cq_wait_idx() const { return *cq_wait_idx_; }

  // The user-space address of something inside the params, for SQE fields
  // that point at user memory (a timespec, an iovec array, a sockaddr).
  template <class T>
  IOULOOP_INLINE u64 user_addr(const T& field_in_params) const {
    return *params_uaddr_ + u64(reinterpret_cast<const u8*>(&field_in_params) - reinterpret_cast<const u8*>(&params));
  }

 private:
  Backend& backend_;
  const volatile u64* params_uaddr_;
  u32* cq_wait_idx_;
};

namespace detail {
struct concept_backend {
  int submit_sqes(u32);
};
template <class P>
constexpr usize region_bytes() {
  if constexpr (requires { P::param_region_bytes; })
    return P::param_region_bytes;
  else
    return default_param_region_bytes;
}
template <class T>
concept step_result = traits::is_same<T, int>;
}  // namespace detail

template <class P>
concept policy =
    requires { typename P::params_type; } && requires(loop<detail::concept_backend, typename P::params_type>& l) {
      { P::step(l) } -> detail::step_result;
    };

// Compile-time facts about a policy, and its checks. Engines and the BPF
// glue instantiate this, so a bad params type fails the build, not the run.
template <policy P>
struct policy_traits {
  using params_type = typename P::params_type;
  static constexpr usize region_bytes = detail::region_bytes<P>();
  static_assert(traits::is_shareable<params_type>,
                "params_type must be trivially copyable and standard layout: it is memory shared by "
                "the host and the BPF program, with no constructors, virtuals or references");
  static_assert(sizeof(params_type) <= region_bytes,
                "params_type is larger than its param region: shrink it or declare "
                "`static constexpr iouloop::usize param_region_bytes = <multiple of 4096>;` in the policy");
  static_assert(region_bytes % 4096 == 0 && region_bytes > 0,
                "param_region_bytes must be a non-zero multiple of the page size (4096)");
};

}  // namespace iouloop
