// iouloop/engine/ring.hpp — an io_uring instance set up for the loop.
//
// Owns the fd and both mappings (engine/owned.hpp); exposes the ring_layout the views and the
// BPF program use. Set up with raw syscalls so that the exact flags (and the
// exact region sizes the BPF side must pass to bpf_io_uring_get_region) are
// ours, whatever liburing version is installed.
#pragma once

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "iouloop/abi.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/ring.hpp"

namespace iouloop {

namespace sys {
inline int io_uring_setup(u32 entries, io_uring_params* p) {
  long r = ::syscall(__NR_io_uring_setup, entries, p);
  return r < 0 ? -errno : static_cast<int>(r);
}
// The userspace engine's call per step. On x86-64 the `syscall`
// instruction is made here (the kernel's calling convention: number in rax,
// arguments in rdi, rsi, rdx, r10, r8, r9; rcx and r11 clobbered; -errno in
// rax), not through libc's syscall(), which moves the seven arguments into
// place, sets errno and hands the -1 back for the -errno above to undo:
// about 15 guest instructions a call (docs/cost.md, "The system call made
// inline"). Same result either way: the
// count, or -errno; errno is left alone. Define IOULOOP_SYSCALL_VIA_LIBC
// (the same in every file of a program) for libc's syscall() on x86-64 too:
// for a tool or test that interposes it (tests/submit_with_sleep_test.cc
// counts the calls so).
inline int io_uring_enter(int fd, u32 to_submit, u32 min_complete, u32 flags, const void* arg, usize argsz) {
#if defined(__x86_64__) && !defined(IOULOOP_SYSCALL_VIA_LIBC)
  long r = __NR_io_uring_enter;
  register long r10 __asm__("r10") = flags;
  register const void* r8 __asm__("r8") = arg;
  register usize r9 __asm__("r9") = argsz;
  __asm__ volatile("syscall"
                   : "+a"(r)
                   : "D"(long(fd)), "S"(long(to_submit)), "d"(long(min_complete)), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return static_cast<int>(r);
#else
  long r = ::syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
  return r < 0 ? -errno : static_cast<int>(r);
#endif
}
inline int io_uring_register(int fd, u32 opcode, const void* arg, u32 nr) {
  long r = ::syscall(__NR_io_uring_register, fd, opcode, arg, nr);
  return r < 0 ? -errno : static_cast<int>(r);
}
}  // namespace sys

struct ring_options {
  u32 sq_entries = 64;
  u32 cq_entries = 0;  // 0: twice sq_entries
  // The loop needs DEFER_TASKRUN (which needs SINGLE_ISSUER); NO_SQARRAY lets
  // SQEs go straight at tail & mask; TASKRUN_FLAG lets the userspace engine
  // see pending task work without a syscall; SUBMIT_ALL lets an SQE that
  // fails to start (a bad opcode or fd) post its error CQE without holding
  // back the SQEs after it (io_submit_sqes stops there otherwise).
  u32 flags = abi::setup::single_issuer | abi::setup::defer_taskrun | abi::setup::no_sqarray |
              abi::setup::taskrun_flag | abi::setup::submit_all;
  // true: add IORING_SETUP_SQ_REWIND where the kernel has it (Linux 7.1+,
  // the kernels with the loop), head and tail elsewhere; ring::flags() says
  // which. Every submission then reads its SQEs from slot 0: no SQ head is
  // read and no tail published per step (7 guest instructions per step of
  // the BPF engine's NOP chain, 10 of the userspace engine's: docs/cost.md,
  // "SQ_REWIND, measured"). A policy sees the same as in head/tail mode
  // (both engines, both modes: the fuzzers), except after a short
  // submission: head/tail mode keeps the SQEs it did not consume for the
  // next one, rewind mode drops them. With SUBMIT_ALL that happens only when
  // the kernel cannot allocate a request, but a policy that counts requests
  // as it prepares them would then wait for CQEs that never come: not the
  // default for that reason.
  bool sq_rewind_where_supported = false;
};

// Says what is wrong with `flags` for a callback-driven loop, or "" if
// nothing is. Both engines refuse the same rings: the kernel's
// io_install_bpf (io_uring/bpf-ops.c) refuses SQPOLL, IOPOLL and rings
// without DEFER_TASKRUN with EOPNOTSUPP; iouloop also refuses the SQE/CQE
// sizes its views cannot read (they assume 64-byte SQEs and 16-byte CQEs).
inline std::string loop_flags_problem(u32 flags) {
  if (flags & abi::setup::sqpoll)
    return "ring uses IORING_SETUP_SQPOLL, which the loop does not support (the kernel says EOPNOTSUPP): "
           "create the ring without it";
  if (flags & abi::setup::iopoll)
    return "ring uses IORING_SETUP_IOPOLL, which the loop does not support (the kernel says EOPNOTSUPP): "
           "create the ring without it";
  if (!(flags & abi::setup::defer_taskrun))
    return "ring lacks IORING_SETUP_DEFER_TASKRUN, which the loop needs: create it with "
           "iouloop::ring_options{} defaults, or add abi::setup::defer_taskrun | abi::setup::single_issuer | "
           "abi::setup::taskrun_flag (without TASKRUN_FLAG the userspace engine pays a system call per step "
           "to run task work)";
  if ((flags & abi::setup::sq_rewind) && !(flags & abi::setup::no_sqarray))
    return "IORING_SETUP_SQ_REWIND needs IORING_SETUP_NO_SQARRAY: add abi::setup::no_sqarray";
  if (flags & abi::setup::sqe128)
    return "ring uses IORING_SETUP_SQE128 (128-byte SQEs), which iouloop's SQ view cannot fill: create the "
           "ring without it";
  if (flags & abi::setup::cqe32)
    return "ring uses IORING_SETUP_CQE32 (32-byte CQEs), which iouloop's CQ view would misread: create the "
           "ring without it";
  if (flags & abi::setup::sqe_mixed)
    return "ring uses IORING_SETUP_SQE_MIXED (mixed 64/128-byte SQEs), which iouloop's SQ view cannot fill: "
           "create the ring without it";
  if (flags & abi::setup::cqe_mixed)
    return "ring uses IORING_SETUP_CQE_MIXED (mixed 16/32-byte CQEs), which iouloop's CQ view would misread: "
           "create the ring without it";
  return {};
}

// The ring's fd and its two mappings, each with its owner: a ring moves
// (defaulted), and a constructor that throws half-way leaves nothing behind.
// Engines hold a ring by reference: do not move it while one uses it.
//
// A ring set up by someone else (liburing: iouloop/engine/liburing.hpp) is
// borrowed with ring::borrow: the same fd and mappings, given back untouched
// (neither closed nor unmapped) when the ring goes.
class ring {
 public:
  // What a borrowed ring is made of: the lender's fd, flags, mappings, and
  // the offsets in them (ring_layout; its region sizes are computed here).
  struct parts {
    int fd;
    u32 flags;
    ring_layout layout;
    u8* rings;
    usize rings_bytes;  // the lender's mapping
    u8* sqes;
    usize sqes_bytes;
  };
  static ring borrow(const parts& p) { return ring(p); }

  ring(ring&&) noexcept = default;
  ring& operator=(ring&& o) noexcept {
    if (this != &o) {
      give_back();
      fd_ = std::move(o.fd_);
      rings_ = std::move(o.rings_);
      sqes_ = std::move(o.sqes_);
      layout_ = o.layout_;
      setup_flags_ = o.setup_flags_;
      features_ = o.features_;
      borrowed_ = std::exchange(o.borrowed_, false);
    }
    return *this;
  }
  ~ring() { give_back(); }
  bool borrowed() const { return borrowed_; }

  explicit ring(const ring_options& o = {}) {
    io_uring_params p{};
    p.flags = o.flags;
    if (o.cq_entries) {
      p.flags |= abi::setup::cqsize;
      p.cq_entries = o.cq_entries;
    }
    int fd = -EINVAL;
    if (o.sq_rewind_where_supported && rewind_allowed(o.flags)) {
      // A kernel before 7.1 says EINVAL for the unknown flag: ask again without it.
      io_uring_params pr = p;
      pr.flags |= abi::setup::sq_rewind;
      fd = sys::io_uring_setup(o.sq_entries, &pr);
      if (fd >= 0) p = pr;
    }
    if (fd == -EINVAL) fd = sys::io_uring_setup(o.sq_entries, &p);
    if (fd < 0) throw error(-fd, setup_failure(-fd, o));
    fd_.reset(fd);
    setup_flags_ = p.flags;
    features_ = p.features;
    if (!(p.features & IORING_FEAT_SINGLE_MMAP))
      throw error(EOPNOTSUPP, "kernel lacks IORING_FEAT_SINGLE_MMAP (Linux 5.4+ needed)");
    auto& L = layout_;
    L.sq_head = p.sq_off.head;
    L.sq_tail = p.sq_off.tail;
    L.sq_flags = p.sq_off.flags;
    L.sq_array = p.sq_off.array;
    L.cq_head = p.cq_off.head;
    L.cq_tail = p.cq_off.tail;
    L.cq_cqes = p.cq_off.cqes;
    L.cq_overflow = p.cq_off.overflow;
    L.sq_entries = p.sq_entries;
    L.cq_entries = p.cq_entries;
    L.setup_flags = p.flags;
    // SQE128/CQE32 rings are made (so that the engines can refuse them by
    // name), with the sizes the kernel gives them.
    size_regions(L);
    const usize rings_bytes = L.rings_size, sqes_bytes = L.sqes_size;
    rings_ = mapping::map(rings_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING,
                          "the io_uring rings");
    sqes_ = mapping::map(sqes_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES,
                         "the io_uring SQE array");
    // Without NO_SQARRAY the kernel reads SQE indices from the array: make
    // it the identity once, so that slot tail & mask is SQE tail & mask.
    if (!(p.flags & abi::setup::no_sqarray)) {
      u32* array = reinterpret_cast<u32*>(rings_.bytes() + p.sq_off.array);
      for (u32 i = 0; i < p.sq_entries; ++i) array[i] = i;
    }
  }

  int fd() const { return fd_.get(); }
  u32 flags() const { return setup_flags_; }
  // io_uring_params.features as the kernel reported them (abi::feat::*; 0
  // for a borrowed ring: the lender did not say).
  u32 features() const { return features_; }
  // Recv bundles (prep_recv_bundle): IORING_FEAT_RECVSEND_BUNDLE, Linux 6.10+.
  bool supports_bundles() const { return (features_ & abi::feat::recvsend_bundle) != 0; }
  const ring_layout& layout() const { return layout_; }
  u8* rings() const { return rings_.bytes(); }
  u8* sqes() const { return sqes_.bytes(); }

  // Reads of the live ring state, for hosts and tests.
  u32 sq_flags() const { return detail::load_acquire(detail::at<u32>(rings(), layout_.sq_flags)); }
  u32 cq_head() const { return detail::load_acquire(detail::at<u32>(rings(), layout_.cq_head)); }
  u32 cq_tail() const { return detail::load_acquire(detail::at<u32>(rings(), layout_.cq_tail)); }
  u32 cq_overflow() const { return detail::load_acquire(detail::at<u32>(rings(), layout_.cq_overflow)); }

  // Runs deferred task work and flushes CQ overflow; waits for `min_complete`
  // CQEs. Returns io_uring_enter's result (never throws: a running loop's
  // call).
  int get_events(u32 min_complete = 0) const {
    return sys::io_uring_enter(fd(), 0, min_complete, abi::enter::getevents, nullptr, 0);
  }

 private:
  explicit ring(const parts& p)
      : fd_(p.fd),
        rings_(p.rings, p.rings_bytes),
        sqes_(p.sqes, p.sqes_bytes),
        layout_(p.layout),
        setup_flags_(p.flags),
        borrowed_(true) {
    layout_.setup_flags = p.flags;
    size_regions(layout_);
  }
  // The regions' sizes the BPF side passes to bpf_io_uring_get_region, from
  // the offsets, entries and flags (the kernel's rings_size()).
  static void size_regions(ring_layout& L) {
    const usize sqe_bytes = (L.setup_flags & abi::setup::sqe128) ? 2 * sizeof(abi::sqe) : sizeof(abi::sqe);
    const usize cqe_bytes = (L.setup_flags & abi::setup::cqe32) ? 2 * sizeof(abi::cqe) : sizeof(abi::cqe);
    const usize sq_bytes = (L.setup_flags & abi::setup::no_sqarray) ? 0 : L.sq_array + L.sq_entries * sizeof(u32);
    const usize cq_bytes = L.cq_cqes + L.cq_entries * cqe_bytes;
    L.rings_size = static_cast<u32>(sq_bytes > cq_bytes ? sq_bytes : cq_bytes);
    L.sqes_size = static_cast<u32>(L.sq_entries * sqe_bytes);
  }
  // A borrowed ring's parts go back to the lender as they are.
  void give_back() noexcept {
    if (!borrowed_) return;
    (void)fd_.release();
    (void)rings_.release();
    (void)sqes_.release();
    borrowed_ = false;
  }
  // SQ_REWIND needs NO_SQARRAY and no SQPOLL (io_uring_sanitise_params).
  static bool rewind_allowed(u32 flags) {
    return (flags & abi::setup::no_sqarray) && !(flags & (abi::setup::sqpoll | abi::setup::sq_rewind));
  }
  static std::string setup_failure(int e, const ring_options& o) {
    std::string what =
        "io_uring_setup(" + std::to_string(o.sq_entries) + " entries, flags 0x" + to_hex(o.flags) + ") failed";
    if (e == EPERM)
      return what +
             ": io_uring is disabled for this process (see sysctl kernel.io_uring_disabled, "
             "or run with CAP_SYS_ADMIN)";
    if (e == ENOSYS) return what + ": the kernel has no io_uring";
    if (e == EINVAL && (o.flags & abi::setup::sq_rewind))
      return what + ": this kernel does not know IORING_SETUP_SQ_REWIND (Linux 7.1+); drop the flag";
    if (e == EINVAL)
      return what +
             ": the kernel rejects these flags (DEFER_TASKRUN needs 6.1+, NO_SQARRAY 6.6+); "
             "check `iouloop-probe`";
    if (e == ENOMEM) return what + ": out of locked memory (raise RLIMIT_MEMLOCK or use fewer entries)";
    return what;
  }
  static std::string to_hex(u32 v) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    do {
      s.insert(s.begin(), digits[v & 15]);
      v >>= 4;
    } while (v);
    return s;
  }

  // Declared in reverse order of release: mappings go before the fd.
  unique_fd fd_;
  mapping rings_, sqes_;
  ring_layout layout_{};
  u32 setup_flags_ = 0;
  u32 features_ = 0;
  bool borrowed_ = false;
};

}  // namespace iouloop
