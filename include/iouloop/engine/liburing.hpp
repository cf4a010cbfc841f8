// iouloop/engine/liburing.hpp — a policy on a ring that liburing set up.
//
//   struct io_uring uring;
//   io_uring_params p{};
//   p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
//   io_uring_queue_init_params(64, &uring, &p);
//   {
//     iouloop::liburing_ring ring(uring);              // borrows: same fd, same mappings
//     iouloop::userspace_engine<nop::policy> e(ring.get(), params);   // or bpf_engine
//     e.run();
//   }                                                   // liburing's SQ cursor catches up
//   io_uring_get_sqe(&uring) ...                        // liburing goes on with the ring
//   io_uring_queue_exit(&uring);                        // closes and unmaps, once
//
// The loop needs the flags a ring of iouloop's has (the engines refuse the
// others by name: iouloop::loop_flags_problem). Host only; link liburing.
#pragma once

// liburing.h brings its own copy of the io_uring uapi header under the same
// include guard as <linux/io_uring.h>. If an older system copy (bookworm's
// lacks IORING_CQE_F_32) came first, liburing's inline functions stop
// compiling with a page of unrelated errors; say what to do instead.
#if !defined(LIBURING_H) && defined(LINUX_IO_URING_H) && !defined(IORING_CQE_F_32)
#error \
    "iouloop/engine/liburing.hpp: <linux/io_uring.h> from the system (older than liburing's copy) was included first, so liburing.h cannot use its own: include iouloop/engine/liburing.hpp (or <liburing.h>) before other iouloop headers and <linux/io_uring.h>"
#endif
#include <liburing.h>

#include <cerrno>
#include <string>

#include "iouloop/engine/error.hpp"
#include "iouloop/engine/ring.hpp"

namespace iouloop {

// iouloop::ring over liburing's ring, borrowed (neither closed nor unmapped
// when it goes). Throws iouloop::error when the ring cannot be lent: its fd
// was closed (io_uring_close_ring_fd), its rings are two mappings (a kernel
// without IORING_FEAT_SINGLE_MMAP), or liburing holds SQEs it has not
// submitted (the loop would write over them).
inline ring borrow(io_uring& u) {
  if (u.ring_fd < 0)
    throw error(EBADF,
                "liburing's ring has no fd (io_uring_close_ring_fd closed it): the loop needs the ring's fd; "
                "keep it open");
  if (u.sq.ring_ptr != u.cq.ring_ptr)
    throw error(EOPNOTSUPP,
                "liburing's SQ and CQ rings are two mappings (no IORING_FEAT_SINGLE_MMAP, before Linux 5.4)");
  const u32 published = detail::load_acquire(u.sq.ktail);
  if (u.sq.sqe_tail != published)
    throw error(EBUSY, "liburing holds " + std::to_string(u.sq.sqe_tail - published) +
                           " SQEs it has not submitted, which the loop would write over: io_uring_submit() them first");
  u8* const base = static_cast<u8*>(u.sq.ring_ptr);
  auto off = [base](const void* p) { return static_cast<u32>(static_cast<const u8*>(p) - base); };
  ring_layout L{};
  L.sq_head = off(u.sq.khead);
  L.sq_tail = off(u.sq.ktail);
  L.sq_flags = off(u.sq.kflags);
  L.sq_array = (u.flags & abi::setup::no_sqarray) || !u.sq.array ? 0 : off(u.sq.array);
  L.cq_head = off(u.cq.khead);
  L.cq_tail = off(u.cq.ktail);
  L.cq_cqes = off(u.cq.cqes);
  L.cq_overflow = off(u.cq.koverflow);
  L.sq_entries = u.sq.ring_entries;
  L.cq_entries = u.cq.ring_entries;
  const usize sqe_bytes = (u.flags & abi::setup::sqe128) ? 2 * sizeof(abi::sqe) : sizeof(abi::sqe);
  return ring::borrow({.fd = u.ring_fd,
                       .flags = u.flags,
                       .layout = L,
                       .rings = base,
                       .rings_bytes = u.sq.ring_sz,
                       .sqes = reinterpret_cast<u8*>(u.sq.sqes),
                       .sqes_bytes = u.sq.ring_entries * sqe_bytes});
}

// After a loop ran on liburing's ring: liburing's own SQ cursor (the SQEs it
// handed out and flushed) catches up with the SQEs the loop published, so
// that its next io_uring_submit does not move the tail back.
inline void resync(io_uring& u) {
  const u32 published = detail::load_acquire(u.sq.ktail);
  u.sq.sqe_head = published;
  u.sq.sqe_tail = published;
}

// The two together: borrows at construction, resyncs liburing when it goes.
// Declare it before the engine that uses it.
class liburing_ring {
 public:
  explicit liburing_ring(io_uring& u) : uring_(u), ring_(borrow(u)) {}
  ~liburing_ring() { resync(uring_); }
  liburing_ring(const liburing_ring&) = delete;
  liburing_ring& operator=(const liburing_ring&) = delete;

  ring& get() { return ring_; }

 private:
  io_uring& uring_;
  ring ring_;
};

}  // namespace iouloop
