// iouloop/ring.hpp — typed views over the SQ and CQ rings.
//
// The only code in iouloop that knows where heads, tails, SQEs and CQEs live.
// It compiles for the host (pointers into the mmap'd rings) and for BPF
// (pointers returned by bpf_io_uring_get_region); no libc, no kernel headers.
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/layout.h"
#include "iouloop/words.hpp"

namespace iouloop {

// Where things are in the two ring regions (iouloop/layout.h, shared with C).
using ring_layout = ::iouloop_ring_layout;

// Where the kernel's struct io_rings keeps the heads, the tails and the CQEs
// (io_uring/io_uring.h in Linux 7.x: struct io_uring sq, cq {head, tail},
// then masks, entries and flags, and the CQEs on the next 64-byte cache
// line), as io_uring_params' sq_off and cq_off report them for every ring
// of an x86-64 kernel. The BPF step takes them as constants (fixed_rings
// below); the host refuses a ring that reports others (rings_abi_matches).
namespace io_rings {
inline constexpr u32 sq_head = 0, sq_tail = 4, cq_head = 8, cq_tail = 12, cqes = 64;
}

// A layout for the views whose io_rings offsets are those constants and
// whose ring sizes and flags are read from `Base` (on BPF, the rodata the
// host fills in): every head, tail and CQE address is then the region's
// base plus an immediate, with no load and no register held for it.
template <class Base>
struct fixed_rings {
  static constexpr u32 sq_head = io_rings::sq_head, sq_tail = io_rings::sq_tail;
  static constexpr u32 cq_head = io_rings::cq_head, cq_tail = io_rings::cq_tail, cq_cqes = io_rings::cqes;
  Base& base;
  decltype((base.sq_entries)) sq_entries = base.sq_entries;
  decltype((base.cq_entries)) cq_entries = base.cq_entries;
  decltype((base.setup_flags)) setup_flags = base.setup_flags;
};

// The same with everything the views read as constants: the ring's sizes
// (SQ and CQ entries) and its mode, head/tail (no IORING_SETUP_SQ_REWIND).
// The views' masks and wraps become immediates and nothing is loaded to
// set them up. For a step compiled for one ring shape
// (IOULOOP_BPF_RING_VARIANT, iouloop/bpf/program.hpp); the host runs it only
// on a ring of that shape (bpf_object::configure refuses another).
template <u32 SqEntries, u32 CqEntries>
struct sized_rings {
  static_assert(SqEntries > 0 && (SqEntries & (SqEntries - 1)) == 0 && SqEntries <= 32768,
                "iouloop: a ring's SQ entries are a power of two, 1 to 32768 (io_uring_setup rounds up to one)");
  static_assert(CqEntries >= SqEntries && (CqEntries & (CqEntries - 1)) == 0 && CqEntries <= 65536,
                "iouloop: a ring's CQ entries are a power of two, at least its SQ entries, 65536 at most");
  static constexpr u32 sq_head = io_rings::sq_head, sq_tail = io_rings::sq_tail;
  static constexpr u32 cq_head = io_rings::cq_head, cq_tail = io_rings::cq_tail, cq_cqes = io_rings::cqes;
  static constexpr u32 sq_entries = SqEntries, cq_entries = CqEntries;
  // What the step's views reach in each region: the CQE array's end, and
  // the SQE array (64-byte SQEs, 16-byte CQEs: loop_flags_problem refuses
  // the others).
  static constexpr u32 rings_bytes = io_rings::cqes + CqEntries * 16, sqes_bytes = SqEntries * 64;
  static constexpr u32 setup_flags = 0;  // of those the views read: SQ_REWIND
};

// Whether a ring's layout has those offsets (the host checks it before a
// BPF step runs on the ring).
inline constexpr bool rings_abi_matches(const ring_layout& l) {
  return l.sq_head == io_rings::sq_head && l.sq_tail == io_rings::sq_tail && l.cq_head == io_rings::cq_head &&
         l.cq_tail == io_rings::cq_tail && l.cq_cqes == io_rings::cqes;
}

namespace detail {
// Memory ordering against the kernel, in the spirit of smp_load_acquire /
// smp_store_release. On BPF the step runs inside io_uring_enter in the task
// that owns the ring (DEFER_TASKRUN), so the kernel posts CQEs and consumes
// SQEs on this same CPU between steps; a volatile access (READ_ONCE) is what
// the kernel itself would use there and keeps the verifier's job simple.
template <class T>
IOULOOP_INLINE T load_acquire(const T* p) {
#if defined(__bpf__)
  return *static_cast<const volatile T*>(p);
#else
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
}
template <class T>
IOULOOP_INLINE void store_release(T* p, T v) {
#if defined(__bpf__)
  *static_cast<volatile T*>(p) = v;
#else
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
#endif
}
template <class T>
IOULOOP_INLINE T* at(u8* base, u32 off) {
  return reinterpret_cast<T*>(base + off);
}
}  // namespace detail

// Read-only copy of one completion.
class cqe_view {
 public:
  // Field by field, not as one struct copy: a struct copy becomes a memcpy
  // whose loads carry no type, and the optimiser must then assume that a
  // CQE may alias the policy's params (a counter bumped per CQE would go
  // through memory on every one).
  IOULOOP_INLINE explicit cqe_view(const abi::cqe& c) {
    c_.user_data = c.user_data;
    c_.res = c.res;
    c_.flags = c.flags;
  }
  IOULOOP_INLINE udata user_data() const { return udata::from_raw(c_.user_data); }
  IOULOOP_INLINE s32 res() const { return c_.res; }
  IOULOOP_INLINE u32 flags() const { return c_.flags; }
  IOULOOP_INLINE bool ok() const { return c_.res >= 0; }
  // More CQEs will follow for this request (multishot).
  IOULOOP_INLINE bool more() const { return (c_.flags & abi::cqe_flag::more) != 0; }
  // The request took a provided buffer (IORING_CQE_F_BUFFER): buffer_id()
  // says which (for a bundle, the first).
  IOULOOP_INLINE bool has_buffer() const { return (c_.flags & abi::cqe_flag::buffer) != 0; }
  // The kernel keeps the buffer for more data (incremental rings only).
  IOULOOP_INLINE bool buffer_more() const { return (c_.flags & abi::cqe_flag::buf_more) != 0; }
  IOULOOP_INLINE u16 buffer_id() const { return static_cast<u16>(c_.flags >> abi::cqe_flag::buffer_shift); }
  // The slot a direct accept put the connection in (only when ok()).
  IOULOOP_INLINE fixed_fd accepted_direct() const { return fixed_fd{static_cast<u32>(c_.res)}; }
  IOULOOP_INLINE bool sock_nonempty() const { return (c_.flags & abi::cqe_flag::sock_nonempty) != 0; }

 private:
  abi::cqe c_;
};

template <u32 N>
class sqe_chain;

// The submission queue, in either of the kernel's two modes:
//  - head/tail: SQEs go at tail & mask; the tail is published before submit.
//  - IORING_SETUP_SQ_REWIND: every submission reads SQEs from index 0 and
//    head/tail are untouched, so a step simply fills slots 0..n-1.
// The view is rebuilt each step; SQEs prepared and not submitted by the end
// of the step are dropped (head/tail mode never publishes them).
//
// Within a step only the step's own submit call moves the SQ head (the loop
// needs DEFER_TASKRUN, so no SQPOLL thread consumes SQEs behind its back):
// the view reads the head when it is built and again after each submit,
// and keeps `limit_`, the first tail it may not hand out (head + entries;
// in rewind mode, entries). An SQE then costs one compare, whatever the mode.
class sq_ring {
 public:
  // `Layout` is ring_layout, or on BPF the const volatile rodata copy of it:
  // the views read only the fields they use.
  template <class Layout>
  IOULOOP_INLINE sq_ring(u8* rings, u8* sqes, Layout& l)
      : rings_(rings),
        sqes_(sqes),
        entries_(l.sq_entries),
        mask_(entries_ - 1),
        head_off_(l.sq_head),
        tail_off_(l.sq_tail),
        rewind_((l.setup_flags & abi::setup::sq_rewind) != 0) {
    // Head/tail mode counts from the SQ tail and puts SQE n at n & mask.
    // Rewind mode puts SQE n at (n - start_) & mask, slot 0 first, and
    // counts from a start it reads (the SQ tail word, which nothing uses in
    // this mode) instead of from 0: with a constant start the BPF verifier
    // follows every count of SQEs a step prepares as a state of its own, and
    // the larger policies (echo2, proxy, timer) run past its budget of a
    // million instructions. Whatever the word holds, the slots are right.
    published_ = *detail::at<u32>(rings_, tail_off_);
    start_ = rewind_ ? published_ : 0;
    limit_ = (rewind_ ? published_ : head()) + entries_;
    tail_ = published_;
  }

  IOULOOP_INLINE bool rewind_mode() const { return rewind_; }
  IOULOOP_INLINE u32 entries() const { return entries_; }

  // SQEs prepared since the last flush.
  IOULOOP_INLINE u32 prepared() const { return tail_ - published_; }

  // Free slots right now.
  IOULOOP_INLINE u32 space() const { return limit_ - tail_; }

  // The next free SQE, or nullptr when the queue is full. Its contents are
  // stale: one of the prep_* builders overwrites every field. For a linked
  // chain use reserve<N>(loop) (all N or none): two next() calls can leave
  // the first SQE prepared-to-be-published when the second fails.
  IOULOOP_INLINE abi::sqe* next() {
    if (tail_ == limit_) return nullptr;
    abi::sqe* s = slot(tail_);
    ++tail_;
    return s;
  }

  // Hands out free SQEs in order with no test: only as many as space()
  // said there are (prepare<> with a counted producer). Past that it would
  // hand out an SQE still waiting to be submitted (the index wraps inside
  // the SQ). It walks by byte offset wrapped with a mask (an add and an and
  // per SQE, not ((tail & mask) * 64) rebuilt from the tail).
  class cursor {
   public:
    IOULOOP_INLINE explicit cursor(sq_ring& sq)
        : sq_(sq), off_(((sq.tail_ - sq.start_) & sq.mask_) * u32(sizeof(abi::sqe))), wrap_((sq.mask_ << 6) | 63) {}
    IOULOOP_INLINE abi::sqe& take() {
      abi::sqe& s = *reinterpret_cast<abi::sqe*>(sq_.sqes_ + u64(off_));
      off_ = (off_ + u32(sizeof(abi::sqe))) & wrap_;
      ++sq_.tail_;
      return s;
    }

   private:
    sq_ring& sq_;
    u32 off_, wrap_;
  };
  IOULOOP_INLINE cursor take_in_order() { return cursor(*this); }

  // N consecutive SQEs, or none (the chain is empty) when fewer are free.
  template <u32 N>
  IOULOOP_INLINE sqe_chain<N> reserve() {
    static_assert(N > 0, "reserve<N>: a chain holds at least one SQE");
    if (space() < N) return sqe_chain<N>(*this, 0, false);
    const u32 first = tail_;
    tail_ += N;
    return sqe_chain<N>(*this, first, true);
  }

  // Makes the prepared SQEs visible to the kernel and returns how many SQEs
  // wait in the queue: the count to pass to the submit call. In head/tail
  // mode that includes SQEs an earlier short submission left behind
  // (limit_ - entries_ is the head the view last read, and only a submit
  // moves it).
  IOULOOP_INLINE u32 flush() {
    published_ = tail_;
    if (rewind_) return tail_ - start_;
    // release: SQE contents must be visible before the new tail
    detail::store_release(detail::at<u32>(rings_, tail_off_), tail_);
    return tail_ - (limit_ - entries_);
  }

  // After a submit call. Head/tail mode reads how far the kernel consumed.
  // Rewind mode refills from slot 0 on the next submission; whatever it did
  // not consume is dropped, as in the kernel.
  IOULOOP_INLINE void submitted() {
    if (rewind_)
      tail_ = published_ = start_;
    else
      limit_ = head() + entries_;
  }

 private:
  template <u32>
  friend class sqe_chain;
  IOULOOP_INLINE abi::sqe* slot(u32 index) const {
    return detail::at<abi::sqe>(sqes_, ((index - start_) & mask_) * u32(sizeof(abi::sqe)));
  }
  // acquire: the kernel's head store must be seen before we reuse a slot.
  // On BPF a plain load: the head moves only in the submit kfunc, a call the
  // compiler cannot see into and reloads after, and the load of a limit that
  // nothing uses afterwards (the last submit of a step) is left out.
  IOULOOP_INLINE u32 head() const {
#if defined(__bpf__)
    return *detail::at<u32>(rings_, head_off_);
#else
    return detail::load_acquire(detail::at<u32>(rings_, head_off_));
#endif
  }

  u8* rings_;
  u8* sqes_;
  u32 entries_, mask_, head_off_, tail_off_;  // entries_ first: the rodata field is read once
  bool rewind_;
  u32 tail_;       // next slot to hand out
  u32 limit_;      // the first tail not to hand out: the head last read + entries
  u32 published_;  // tail at the last flush
  u32 start_;      // rewind mode: the count every submission starts from, at slot 0; head/tail mode: 0
};

// N SQEs handed out together by reserve<N>(): test it, then prepare every
// one of them (a reserved SQE goes to the kernel with whatever it holds).
//
//   auto chain = reserve<2>(loop);
//   if (!chain) return false;                       // the SQ had fewer than 2 free
//   prep_read(chain[0], fd, buf, len, off, ud::make(tag::read, slot)).link();
//   prep_write(chain[1], fd_out, buf, len, off, ud::make(tag::write, slot));
template <u32 N>
class sqe_chain {
 public:
  IOULOOP_INLINE explicit operator bool() const { return ok_; }
  static constexpr IOULOOP_INLINE u32 size() { return N; }
  // The i-th SQE of the chain (i < N; larger values wrap inside the SQ).
  IOULOOP_INLINE abi::sqe& operator[](u32 i) const { return *sq_->slot(first_ + i); }

 private:
  friend class sq_ring;
  IOULOOP_INLINE sqe_chain(const sq_ring& sq, u32 first, bool ok) : sq_(&sq), first_(first), ok_(ok) {}
  const sq_ring* sq_;
  u32 first_;
  bool ok_;
};

// reserve<N>(loop) or reserve<N>(loop.sq): N SQEs for a chain, all or none.
template <u32 N, class Q>
IOULOOP_INLINE sqe_chain<N> reserve(Q& q) {
  if constexpr (requires { q.sq; })
    return q.sq.template reserve<N>();
  else
    return q.template reserve<N>();
}

// The completion queue. `batch<N>()` snapshots the tail once, walks at most N
// CQEs (a constant bound, so BPF loops verify) and releases them by
// advancing the head when the batch ends.
class cq_ring {
 public:
  template <class Layout>
  IOULOOP_INLINE cq_ring(u8* rings, Layout& l)
      : rings_(rings), mask_(l.cq_entries - 1), head_off_(l.cq_head), tail_off_(l.cq_tail), cqes_off_(l.cq_cqes) {
    head_ = *detail::at<u32>(rings_, head_off_);
  }

  // Index of the first unconsumed CQE: the base for cq_wait_idx.
  IOULOOP_INLINE u32 head() const { return head_; }
  IOULOOP_INLINE u32 tail() const {
    // acquire: the tail must be loaded before any CQE it covers
    return detail::load_acquire(detail::at<u32>(rings_, tail_off_));
  }
  IOULOOP_INLINE u32 ready() const { return tail() - head_; }

  IOULOOP_INLINE cqe_view at(u32 index) const {
    return cqe_view(*detail::at<const abi::cqe>(rings_, cqes_off_ + (index & mask_) * u32(sizeof(abi::cqe))));
  }
  // The oldest unconsumed CQE; only valid when ready() > 0.
  IOULOOP_INLINE cqe_view peek() const { return at(head_); }

  IOULOOP_INLINE void advance(u32 n) {
    head_ += n;
    // release: our reads of the CQEs complete before the kernel may reuse them
    detail::store_release(detail::at<u32>(rings_, head_off_), head_);
  }

  template <u32 Max>
  class batch_range {
   public:
    // Walks by the CQE's byte offset in the array, wrapped with a mask:
    // an add and an and per CQE instead of rebuilding
    // ((head + i) & mask) * 16 from the index (on BPF, five instructions
    // more per CQE); the offset stays below the array's size, which is
    // what the verifier checks.
    class iterator {
     public:
      IOULOOP_INLINE iterator(const cq_ring* cq, u32 i)
          : cq_(cq), i_(i), off_((cq->head_ & cq->mask_) * u32(sizeof(abi::cqe))) {}
      IOULOOP_INLINE cqe_view operator*() const {
        return cqe_view(*reinterpret_cast<const abi::cqe*>(cq_->rings_ + cq_->cqes_off_ + u64(off_)));
      }
      IOULOOP_INLINE iterator& operator++() {
        ++i_;
        off_ = (off_ + u32(sizeof(abi::cqe))) & ((cq_->mask_ << 4) | 15);
        return *this;
      }
      // `<` rather than `!=`: the verifier proves termination from it.
      IOULOOP_INLINE bool operator!=(const iterator& end) const { return i_ < end.i_; }

     private:
      const cq_ring* cq_;
      u32 i_;
      u32 off_;  // of CQE head + i_ in the CQE array
    };
    IOULOOP_INLINE explicit batch_range(cq_ring& cq) : cq_(cq) {
      u32 ready = cq.ready();
      n_ = ready < Max ? ready : Max;
      // One bound for the loop: without this the compiler tests the index
      // against both `ready` and Max on every CQE (a compare and a branch
      // more each); the verifier still sees n_ <= Max from the min above.
      asm volatile("" : "+r"(n_));
    }
    batch_range(const batch_range&) = delete;
    batch_range& operator=(const batch_range&) = delete;
    IOULOOP_INLINE ~batch_range() {
      if (n_) cq_.advance(n_);
    }
    IOULOOP_INLINE iterator begin() const { return iterator(&cq_, 0); }
    IOULOOP_INLINE iterator end() const { return iterator(&cq_, n_); }  // only its i_ is read
    IOULOOP_INLINE u32 size() const { return n_; }

   private:
    cq_ring& cq_;
    u32 n_;
  };

  // for (cqe_view c : batch<16>(loop)) { ... }  — consumes what it walks.
  template <u32 Max>
  IOULOOP_INLINE batch_range<Max> batch() {
    static_assert(Max > 0, "a CQE batch needs a bound of at least 1");
    return batch_range<Max>(*this);
  }

 private:
  u8* rings_;
  u32 mask_, head_off_, tail_off_, cqes_off_;
  u32 head_;
};

}  // namespace iouloop

namespace iouloop {
// batch<N>(loop) or batch<N>(loop.cq): up to N ready CQEs, consumed when the
// range ends (cq_ring::batch without the `template` keyword).
template <u32 Max, class Q>
IOULOOP_INLINE cq_ring::batch_range<Max> batch(Q& q) {
  if constexpr (requires { q.cq; })
    return q.cq.template batch<Max>();
  else
    return q.template batch<Max>();
}
}  // namespace iouloop
