// iouloop/policy.hpp — what a policy sees (the loop) and what it must be.
//
// A policy is a type with
//   using params_type = P;                      // lives in the param region
//   template <class Loop> static int step(Loop& loop);
// and optionally `static constexpr usize param_region_bytes` (default 4096).
// step() returns iouloop::loop_continue or iouloop::loop_stop; anything else
// ends the loop with -EINVAL, as in the kernel. The same step compiles for
// the userspace engine and, through iouloop/bpf/program.hpp, for BPF.
//
// The last exit_record_bytes of the param region belong to the library: the
// exit record (struct exit_record) where loop.fail(-errno) leaves the errno,
// the source file and line and the step, and where an invalid step value is
// noted. The host reads it through the engine (engine.exit()).
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/buf_ring.hpp"
#include "iouloop/ring.hpp"
#include "iouloop/sqe.hpp"
#include "iouloop/traits.hpp"
#include "iouloop/uapi.hpp"
#include "iouloop/user_data.hpp"

namespace iouloop {

inline constexpr int loop_continue = abi::loop_continue;
inline constexpr int loop_stop = abi::loop_stop;
inline constexpr usize default_param_region_bytes = 4096;

// The library's record of how a run ended, at the end of the param region
// (like sched_ext's exit info). Written by loop.fail() and by the engines;
// the host reads it through engine.exit() (iouloop/engine/exit.hpp).
struct exit_record {
  s32 error;       // the first loop.fail(-errno); 0 if the policy never failed
  s32 value;       // a step's return value that was neither CONTINUE nor STOP (the run ended -EINVAL)
  u32 line;        // loop.fail()'s line ...
  u32 file_hash;   // ... and source file (detail::file_hash of its path): written as one 8-byte word
  u64 steps;       // steps run since the run began (the step that ended it included)
  u64 value_step;  // the step that returned `value`
  u32 stage;       // with `value`: the 1-based stage of the innermost sequence<> that returned it, 0 if unknown
  u32 has_value;   // `value` is set
  char file[48];   // loop.fail()'s source file by name, filled in by the host: the end of the path
  // The kernel's engines only (detail::stale_wake_guard): the steps in a row
  // the kernel called before the CQ reached the index the step before asked
  // for, with the tail at `idle_tail` each time ...
  u32 idle_tail;
  u32 idle_steps;
  u32 reenter;    // ... and, after stale_wake_limit of them, a request to the host to enter again
  u32 reentries;  // how many times the host entered again in this run (written by the host)
  u8 reserved[24];
};
static_assert(sizeof(exit_record) == 128 &&
              __builtin_offsetof(exit_record, file_hash) == __builtin_offsetof(exit_record, line) + 4);
inline constexpr usize exit_record_bytes = sizeof(exit_record);

namespace detail {
// The source file of a loop.fail() call, as a 32-bit FNV-1a hash of the
// last 47 characters of its path as the compiler spells it. Called with
// __builtin_FILE(): once inlined, the compiler folds it to a constant, so
// a failure costs a BPF step a few stores; the host turns the hash back
// into the name (the userspace engine from the path itself, the BPF engine
// from the file names in the object's BTF line info).
constexpr IOULOOP_INLINE u32 file_hash(const char* f) {
  const u32 n = static_cast<u32>(__builtin_strlen(f));
  const u32 start = n > 47 ? n - 47 : 0;  // (nothing that depends on the bytes: it would stop the folding)
  u32 h = 2166136261u;
  IOULOOP_UNROLL
  for (u32 i = 0; i < 47; ++i) {
    const u32 k = start + i;
    if (k < n) h = (h ^ static_cast<u8>(f[k])) * 16777619u;
  }
  return h;
}
}  // namespace detail

#if !defined(__bpf__)
namespace detail {
// The host's copy of a path's end (for the userspace engine's record).
inline void copy_path_tail(char* out, usize size, const char* path) {
  usize n = __builtin_strlen(path);
  if (n >= 2 && path[0] == '.' && path[1] == '/') path += 2, n -= 2;
  const char* from = n >= size ? path + (n - (size - 1)) : path;
  usize i = 0;
  for (; from[i] && i + 1 < size; ++i) out[i] = from[i];
  out[i] = 0;
}
}  // namespace detail
#endif

// An array in the params whose indexing the BPF verifier accepts as it is:
// the index is masked to the (power-of-two) size, so `conns[slot]` needs no
// hand-written `slot &= N - 1`. An index of N or more wraps (element i % N)
// on both engines; contains(i) tells whether it is in range. Plain memory:
// a params_type may hold it, and the layout check sees `items[N]`.
template <class T, u32 N>
struct bounded_array {
  static_assert(N > 0 && (N & (N - 1)) == 0,
                "bounded_array<T, N>: N must be a power of two (the index is masked to it, which the BPF "
                "verifier accepts without a bounds check): round N up");
  T items[N];

  static constexpr IOULOOP_INLINE u32 size() { return N; }
  static constexpr IOULOOP_INLINE bool contains(u32 i) { return i < N; }
  IOULOOP_INLINE T& operator[](u32 i) { return items[mask(i)]; }
  IOULOOP_INLINE const T& operator[](u32 i) const { return items[mask(i)]; }

 private:
  static IOULOOP_INLINE u32 mask(u32 i) { return i & (N - 1); }
};

// `v & (Size - 1)`, kept even where the compiler can prove it is a no-op
// (a value read from a constant table, say): the BPF verifier cannot, and
// needs the mask to bound an array index.
template <u32 Size>
IOULOOP_INLINE u32 index_below(u32 v) {
  static_assert(Size && (Size & (Size - 1)) == 0, "index_below<Size>: Size must be a power of two");
  asm volatile("" : "+r"(v));  // hide the value's known range from the optimiser
  return v & (Size - 1);
}

// What a predicate that declares `static constexpr bool reads_params_only =
// true` is handed by stop_when<> instead of the loop, on every engine: the
// params and the failure state, not the rings nor anything that submits.
// Since such a predicate cannot see what a submit did (the SQ head, CQEs
// that completed inside it), a stop_when<> of it may stand between a
// step's refill<> and its wait_for<> and the userspace engine still makes
// that submit with its sleep (sequence::step_submit_at_end). A predicate
// that declares it and reads loop.cq, loop.sq or anything else fails to
// compile, naming this type: drop the declaration, or read the params.
template <class Params>
class params_only_view {
 public:
  using params_type = Params;
  IOULOOP_INLINE params_only_view(Params& p, const exit_record& exit) : params(p), exit_(exit) {}
  Params& params;
  IOULOOP_INLINE bool failed() const { return exit_.error != 0; }
  IOULOOP_INLINE s32 failure() const { return exit_.error; }

 private:
  const exit_record& exit_;
};

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
                      Layout& layout, u32* cq_wait_idx, exit_record& exit)
      : sq(rings, sqes, layout),
        cq(rings, layout),
        params(params),
        backend_(backend),
        params_uaddr_(&params_uaddr),
        cq_wait_idx_(cq_wait_idx),
        exit_(exit) {}

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

  // submit(), for the step's last submit when nothing in the step runs after
  // it and its result is not wanted (sequence::step_submit_at_end). An
  // engine whose backend has submit_at_end(n) makes it after the step, in
  // the system call that sleeps; the others submit here.
  static constexpr bool submits_at_end = requires(Backend& b) { b.submit_at_end(0u); };
  IOULOOP_INLINE void submit_at_end() {
    if constexpr (submits_at_end) {
      if (const u32 n = sq.flush()) backend_.submit_at_end(n);
    } else {
      submit();
    }
  }

  // After this step, sleep until `n` CQEs beyond the consumed ones exist.
  // A hint: the next step may run early (spurious wake-ups are normal).
  IOULOOP_INLINE void wait_cqes(u32 n) { *cq_wait_idx_ = cq.head() + n; }
  // The raw iou_loop_params.cq_wait_idx: sleep while cq.tail is before it.
  IOULOOP_INLINE void set_cq_wait_idx(u32 idx) { *cq_wait_idx_ = idx; }
  IOULOOP_INLINE u32 cq_wait_idx() const { return *cq_wait_idx_; }

  // The user-space address of something inside the params, for SQE fields
  // that point at user memory (a timespec, an iovec array, a sockaddr, a
  // buffer array). Anything that does not lie wholly inside the params
  // (a local variable, a CQE) gives the null address, which the kernel
  // refuses with -EFAULT, and records the failure (-EFAULT, here).
  template <class T>
  IOULOOP_INLINE uaddr user_addr(const T& field_in_params, const char* file = __builtin_FILE(),
                                 u32 line = __builtin_LINE()) {
    static_assert(!traits::is_pointer<T>,
                  "loop.user_addr(field): pass the field itself (loop.user_addr(p.buf)), not a pointer to it");
    const u64 off = u64(reinterpret_cast<const u8*>(&field_in_params) - reinterpret_cast<const u8*>(&params));
    if (off > sizeof(Params) - sizeof(T) || sizeof(T) > sizeof(Params)) {
      fail(-14 /* EFAULT */, file, line);
      return uaddr{};
    }
    return uaddr::from_raw(*params_uaddr_ + off);
  }
  template <class T>
  uaddr user_addr(const T&&) {
    static_assert(!traits::is_pointer<T>,
                  "loop.user_addr(field): pass the field itself (loop.user_addr(p.buf)), not a pointer to it");
    static_assert(traits::is_pointer<T>,
                  "loop.user_addr(field): this is a temporary, not a field of the params: memory a request "
                  "points at must live in the params (or be user memory the host gave as an iouloop::uaddr)");
    return uaddr{};
  }

  // Records that the policy failed with `neg_errno` (-EIO, or a CQE's res)
  // at this call's file and line, unless an earlier failure is recorded,
  // and returns loop_stop: `return loop.fail(-EIO);` ends the loop; from a
  // handler, call it and stop later (stop_when<idle_after_failure>...).
  // The host's run() then returns the first failure's errno. A value that
  // is not negative records -EINVAL.
  IOULOOP_INLINE int fail(s32 neg_errno, const char* file = __builtin_FILE(), u32 line = __builtin_LINE()) {
    if (exit_.error == 0) {
      exit_.error = neg_errno < 0 ? neg_errno : -22 /* EINVAL */;
      // line and file hash in one store of a constant: each call site costs
      // the verifier one more instruction, not two register values
      const u64 where = (u64(detail::file_hash(file)) << 32) | line;
      __builtin_memcpy(&exit_.line, &where, sizeof where);
#if !defined(__bpf__)
      detail::copy_path_tail(exit_.file, sizeof exit_.file, file);
#endif
    }
    return loop_stop;
  }
  // A failure is recorded: the first one's -errno, or 0.
  IOULOOP_INLINE bool failed() const { return exit_.error != 0; }
  IOULOOP_INLINE s32 failure() const { return exit_.error; }
  // The params and the failure state alone (params_only_view).
  IOULOOP_INLINE params_only_view<Params> params_only() const { return params_only_view<Params>(params, exit_); }

  // For sequence<>: notes a stage's return value that is neither CONTINUE
  // nor STOP (the kernel ends the loop with -EINVAL).
  IOULOOP_INLINE void note_invalid_value(int value, u32 stage) {
    if (exit_.has_value) return;
    exit_.has_value = 1;
    exit_.value = value;
    exit_.stage = stage;
    exit_.value_step = exit_.steps;
  }

 private:
  Backend& backend_;
  const volatile u64* params_uaddr_;
  u32* cq_wait_idx_;
  exit_record& exit_;
};

namespace detail {
// One step of policy P on `l`, as both engines run it: counts the step in
// the exit record and notes a return value that is neither CONTINUE nor
// STOP (the engine then ends the run with -EINVAL, as the kernel does).
//
// On an engine that submits with its sleep (loop::submits_at_end), a policy
// that is a sequence<...> ending in refill<P>, wait_for<N> (with only
// stop_when<>s of predicates that read the params between them), and does
// not define a step of its own, runs as sequence::step_submit_at_end.
// (A step of the policy's own hides sequence's, and takes no second template
// argument: comparing the two functions' addresses is not a constant
// expression for every compiler.)
struct sequence_step_probe {};
template <class P, class Loop>
constexpr bool submit_at_end_of_step() {
  if constexpr (Loop::submits_at_end && requires {
                  typename P::sequence_type;
                  &P::template step<Loop, sequence_step_probe>;
                })
    return P::sequence_type::ends_in_refill_then_wait;
  return false;
}
template <class P, class Loop>
IOULOOP_INLINE int run_one_step(Loop& l, exit_record& exit) {
  exit.steps++;
  int r;
  if constexpr (submit_at_end_of_step<P, Loop>())
    r = P::sequence_type::step_submit_at_end(l);
  else
    r = P::step(l);
  if (static_cast<u32>(r) > 1u) l.note_invalid_value(r, 0);
  return r;
}
// The kernel's engines (the BPF and native glue), before each step: a guard
// against a kernel loop that spins. On kernels without
// kernel/0003-...patch, a task work notification (TIF_NOTIFY_SIGNAL) that
// arrives after its work ran stays set; every sleep in io_loop_wait() then
// returns at once and __io_run_loop calls the step again and again, with
// nothing new in the CQ, until more task work, a signal, or the task leaving
// the kernel clears the flag. A closed ring the task used sends such notifications
// (io_ring_exit_work). Early calls are allowed by the loop's contract, so
// the guard counts only calls that find the CQ still short of the index the
// step before asked for, with the tail where it was on the call before;
// after stale_wake_limit of them in a row it ends this io_uring_enter
// (STOP, without calling the policy) and asks the host to enter again
// (exit_record.reenter; run_attached_loop does it). To the policy that is
// one early call more. Costs a step whose wait was met two loads and a
// compare.
inline constexpr u32 stale_wake_limit = 256;
template <class Cq>
IOULOOP_INLINE bool stale_wake_guard(const Cq& cq, u32 wanted, exit_record& exit) {
  const u32 tail = cq.tail();
  if (static_cast<s32>(wanted - tail) <= 0) return false;  // the wait was met, or none was asked for
  if (tail != exit.idle_tail) {                            // CQEs arrived since: a new count
    exit.idle_tail = tail;
    exit.idle_steps = 1;
    return false;
  }
  if (++exit.idle_steps < stale_wake_limit) return false;
  exit.reenter = 1;  // the host clears idle_steps and counts the re-entry
  return true;
}
// Where the exit record lives in a param region of `region_bytes`.
IOULOOP_INLINE exit_record& exit_record_in(u8* region, usize region_bytes) {
  return *reinterpret_cast<exit_record*>(region + region_bytes - exit_record_bytes);
}
}  // namespace detail

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
template <class T, class U>
concept same_as = traits::is_same<T, U>;
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
  static_assert(sizeof(params_type) + exit_record_bytes <= region_bytes,
                "params_type is larger than its param region (whose last 128 bytes hold the library's exit "
                "record): shrink it or declare "
                "`static constexpr iouloop::usize param_region_bytes = <multiple of 4096>;` in the policy (a "
                "params_type holding a buf_ring is a whole number of pages: one page more holds the record)");
  static_assert(region_bytes % 4096 == 0 && region_bytes > 0,
                "param_region_bytes must be a non-zero multiple of the page size (4096)");
};

}  // namespace iouloop
