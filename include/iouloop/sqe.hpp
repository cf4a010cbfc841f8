// iouloop/sqe.hpp — SQE builders.
//
// Each prep_* writes every field of the SQE (slots are reused, so nothing
// stale may survive) and returns an sqe_ref for the per-request flags:
//   prep_read(s, fd, buf, len, off, ud::make(tag::read, slot)).link();
// Addresses are iouloop::uaddr (user-space addresses: the same code runs in
// BPF, where buffers live in the task's memory and reach the policy through
// its params) and user_data is an iouloop::udata, so neither can be swapped
// with an offset, a length or a count (iouloop/words.hpp).
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/words.hpp"

namespace iouloop {

class sqe_ref {
 public:
  IOULOOP_INLINE explicit sqe_ref(abi::sqe& s) : s_(&s) {}
  // The next SQE runs only after this one succeeds (IOSQE_IO_LINK).
  IOULOOP_INLINE sqe_ref& link() { return set(abi::sqe_flag::io_link); }
  // The next SQE runs after this one whatever its result (IOSQE_IO_HARDLINK).
  IOULOOP_INLINE sqe_ref& hardlink() { return set(abi::sqe_flag::io_hardlink); }
  // Starts only when everything submitted before it has completed.
  IOULOOP_INLINE sqe_ref& drain() { return set(abi::sqe_flag::io_drain); }
  // Post no CQE when it succeeds (IOSQE_CQE_SKIP_SUCCESS).
  IOULOOP_INLINE sqe_ref& skip_success() { return set(abi::sqe_flag::cqe_skip_success); }
  // Go to the async worker at once instead of trying inline first.
  IOULOOP_INLINE sqe_ref& async() { return set(abi::sqe_flag::async); }
  // Pick the buffer from provided-buffer group `group` (IOSQE_BUFFER_SELECT;
  // the CQE says which: cqe_view::buffer_id()).
  IOULOOP_INLINE sqe_ref& buffer_select(buf_group group) {
    s_->buf_index = group.id();
    return set(abi::sqe_flag::buffer_select);
  }
  // A multishot recv ends once it has received `bytes` in all: its last
  // CQE, without more(), holds what took it there (sqe->optlen; the kernel
  // clamps each receive to what is left). With provided buffers filled one
  // per CQE, it bounds how many buffers one arming takes before the step
  // sees them. Linux 6.17+: an older kernel fails the recv with -EINVAL
  // (iouloop::kernel_has_recv_total_limit() asks, on the host).
  IOULOOP_INLINE sqe_ref& total_limit(u32 bytes) {
    s_->file_index = bytes;
    return *this;
  }
  IOULOOP_INLINE abi::sqe& get() const { return *s_; }

 private:
  IOULOOP_INLINE sqe_ref& set(u8 f) {
    s_->flags = static_cast<u8>(s_->flags | f);
    return *this;
  }
  abi::sqe* s_;
};

namespace detail {
IOULOOP_INLINE sqe_ref prep(abi::sqe& s, u8 op, s32 fd, u64 addr, u32 len, u64 off, udata ud) {
  s.opcode = op;
  s.flags = 0;
  s.ioprio = 0;
  s.fd = fd;
  s.off = off;
  s.addr = addr;
  s.len = len;
  s.op_flags = 0;
  s.user_data = ud.raw();
  s.buf_index = 0;
  s.personality = 0;
  s.file_index = 0;
  s.addr3 = 0;
  s.pad2 = 0;
  return sqe_ref(s);
}
}  // namespace detail

IOULOOP_INLINE sqe_ref prep_nop(abi::sqe& s, udata ud) { return detail::prep(s, abi::op::nop, -1, 0, 0, 0, ud); }
IOULOOP_INLINE sqe_ref prep_read(abi::sqe& s, s32 fd, uaddr buf, u32 len, u64 off, udata ud) {
  return detail::prep(s, abi::op::read, fd, buf.raw(), len, off, ud);
}
IOULOOP_INLINE sqe_ref prep_write(abi::sqe& s, s32 fd, uaddr buf, u32 len, u64 off, udata ud) {
  return detail::prep(s, abi::op::write, fd, buf.raw(), len, off, ud);
}
// `iov` points at `count` struct iovec (abi::iovec) in user memory.
IOULOOP_INLINE sqe_ref prep_readv(abi::sqe& s, s32 fd, uaddr iov, u32 count, u64 off, udata ud) {
  return detail::prep(s, abi::op::readv, fd, iov.raw(), count, off, ud);
}
IOULOOP_INLINE sqe_ref prep_writev(abi::sqe& s, s32 fd, uaddr iov, u32 count, u64 off, udata ud) {
  return detail::prep(s, abi::op::writev, fd, iov.raw(), count, off, ud);
}
IOULOOP_INLINE sqe_ref prep_fsync(abi::sqe& s, s32 fd, udata ud) {
  return detail::prep(s, abi::op::fsync, fd, 0, 0, 0, ud);
}
IOULOOP_INLINE sqe_ref prep_recv(abi::sqe& s, s32 fd, uaddr buf, u32 len, u32 msg_flags, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::recv, fd, buf.raw(), len, 0, ud);
  s.op_flags = msg_flags;
  return r;
}
// A recv into a buffer the kernel takes from `group` (a buf_ring the host
// registered): the CQE's res bytes are in buffer cqe_view::buffer_id().
IOULOOP_INLINE sqe_ref prep_recv_select(abi::sqe& s, s32 fd, buf_group group, u32 msg_flags, udata ud) {
  return prep_recv(s, fd, uaddr{}, 0, msg_flags, ud).buffer_select(group);
}
// Multishot recv: one CQE per arrival, each in a buffer from `group`, while
// cqe_view::more() holds. A CQE without more() ends it: res 0 at end of
// stream, -ENOBUFS when the group ran dry (the data waits in the socket;
// arm it again once buffers are back), another -errno on error.
IOULOOP_INLINE sqe_ref prep_recv_multishot(abi::sqe& s, s32 fd, buf_group group, u32 msg_flags, udata ud) {
  sqe_ref r = prep_recv_select(s, fd, group, msg_flags, ud);
  s.ioprio = abi::recv_multishot;
  return r;
}
// A recv bundle (IORING_RECVSEND_BUNDLE, Linux 6.10+: ring.supports_bundles()
// on the host): one CQE for as many buffers of `group` as the data fills, in
// ring order from buffer cqe_view::buffer_id(); buf_ring::taken_by says how
// many. The multishot form keeps going as prep_recv_multishot does.
IOULOOP_INLINE sqe_ref prep_recv_bundle(abi::sqe& s, s32 fd, buf_group group, u32 msg_flags, udata ud) {
  sqe_ref r = prep_recv_select(s, fd, group, msg_flags, ud);
  s.ioprio = abi::recvsend_bundle;
  return r;
}
IOULOOP_INLINE sqe_ref prep_recv_multishot_bundle(abi::sqe& s, s32 fd, buf_group group, u32 msg_flags, udata ud) {
  sqe_ref r = prep_recv_select(s, fd, group, msg_flags, ud);
  s.ioprio = abi::recv_multishot | abi::recvsend_bundle;
  return r;
}
IOULOOP_INLINE sqe_ref prep_send(abi::sqe& s, s32 fd, uaddr buf, u32 len, u32 msg_flags, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::send, fd, buf.raw(), len, 0, ud);
  s.op_flags = msg_flags;
  return r;
}
// `addr` (a sockaddr) and `addrlen` (the address of a u32 holding its size,
// which the kernel updates) may both be uaddr{} when the peer address is not
// wanted. flags: SOCK_CLOEXEC, SOCK_NONBLOCK.
IOULOOP_INLINE sqe_ref prep_accept(abi::sqe& s, s32 fd, uaddr addr, uaddr addrlen, u32 flags, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::accept, fd, addr.raw(), 0, addrlen.raw(), ud);
  s.op_flags = flags;
  return r;
}
IOULOOP_INLINE sqe_ref prep_accept_multishot(abi::sqe& s, s32 fd, u32 flags, udata ud) {
  sqe_ref r = prep_accept(s, fd, uaddr{}, uaddr{}, flags, ud);
  s.ioprio = abi::accept_multishot;
  return r;
}
// `addr` is a sockaddr of `addrlen` bytes (a size, not an address).
IOULOOP_INLINE sqe_ref prep_connect(abi::sqe& s, s32 fd, uaddr addr, u32 addrlen, udata ud) {
  return detail::prep(s, abi::op::connect, fd, addr.raw(), 0, addrlen, ud);
}
IOULOOP_INLINE sqe_ref prep_close(abi::sqe& s, s32 fd, udata ud) {
  return detail::prep(s, abi::op::close, fd, 0, 0, 0, ud);
}
// shutdown(2) of a socket: `how` is SHUT_RD, SHUT_WR or SHUT_RDWR (0, 1, 2).
IOULOOP_INLINE sqe_ref prep_shutdown(abi::sqe& s, s32 fd, u32 how, udata ud) {
  return detail::prep(s, abi::op::shutdown, fd, 0, how, 0, ud);
}
// Completes after `count` other completions or when the timespec at `ts`
// (abi::kernel_timespec in user memory) elapses, whichever is first
// (res -ETIME for the latter). flags: abi::timeout_abs, abi::timeout_multishot.
IOULOOP_INLINE sqe_ref prep_timeout(abi::sqe& s, uaddr ts, u32 count, u32 flags, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::timeout, -1, ts.raw(), 1, count, ud);
  s.op_flags = flags;
  return r;
}
// Bounds the SQE linked just before it (mark that one .link()).
IOULOOP_INLINE sqe_ref prep_link_timeout(abi::sqe& s, uaddr ts, u32 flags, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::link_timeout, -1, ts.raw(), 1, 0, ud);
  s.op_flags = flags;
  return r;
}
// Completes when `fd` is ready for any of `events` (abi::poll::*), with the
// ready events in res. `multishot`: one CQE per readiness while
// cqe_view::more() holds (IORING_POLL_ADD_MULTI).
IOULOOP_INLINE sqe_ref prep_poll_add(abi::sqe& s, s32 fd, u32 events, bool multishot, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::poll_add, fd, 0, multishot ? abi::poll_add_multi : 0, 0, ud);
  s.op_flags = events;
  return r;
}
// Cancels the request whose user_data is `target`.
IOULOOP_INLINE sqe_ref prep_cancel(abi::sqe& s, udata target, u32 flags, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::async_cancel, -1, target.raw(), 0, 0, ud);
  s.op_flags = flags;
  return r;
}

// ---- fixed (direct) files: the same requests on a slot of the ring's file
// table (iouloop::fixed_fd), IOSQE_FIXED_FILE set by the builder ----------
namespace detail {
IOULOOP_INLINE sqe_ref fixed(sqe_ref r) {
  r.get().flags = static_cast<u8>(r.get().flags | abi::sqe_flag::fixed_file);
  return r;
}
}  // namespace detail
IOULOOP_INLINE sqe_ref prep_read(abi::sqe& s, fixed_fd f, uaddr buf, u32 len, u64 off, udata ud) {
  return detail::fixed(prep_read(s, s32(f.index()), buf, len, off, ud));
}
IOULOOP_INLINE sqe_ref prep_write(abi::sqe& s, fixed_fd f, uaddr buf, u32 len, u64 off, udata ud) {
  return detail::fixed(prep_write(s, s32(f.index()), buf, len, off, ud));
}
IOULOOP_INLINE sqe_ref prep_recv(abi::sqe& s, fixed_fd f, uaddr buf, u32 len, u32 msg_flags, udata ud) {
  return detail::fixed(prep_recv(s, s32(f.index()), buf, len, msg_flags, ud));
}
IOULOOP_INLINE sqe_ref prep_recv_select(abi::sqe& s, fixed_fd f, buf_group group, u32 msg_flags, udata ud) {
  return detail::fixed(prep_recv_select(s, s32(f.index()), group, msg_flags, ud));
}
IOULOOP_INLINE sqe_ref prep_recv_multishot(abi::sqe& s, fixed_fd f, buf_group group, u32 msg_flags, udata ud) {
  return detail::fixed(prep_recv_multishot(s, s32(f.index()), group, msg_flags, ud));
}
IOULOOP_INLINE sqe_ref prep_recv_bundle(abi::sqe& s, fixed_fd f, buf_group group, u32 msg_flags, udata ud) {
  return detail::fixed(prep_recv_bundle(s, s32(f.index()), group, msg_flags, ud));
}
IOULOOP_INLINE sqe_ref prep_recv_multishot_bundle(abi::sqe& s, fixed_fd f, buf_group group, u32 msg_flags, udata ud) {
  return detail::fixed(prep_recv_multishot_bundle(s, s32(f.index()), group, msg_flags, ud));
}
IOULOOP_INLINE sqe_ref prep_send(abi::sqe& s, fixed_fd f, uaddr buf, u32 len, u32 msg_flags, udata ud) {
  return detail::fixed(prep_send(s, s32(f.index()), buf, len, msg_flags, ud));
}
// Connects the socket in the slot to the sockaddr at `addr` (`addrlen` bytes).
IOULOOP_INLINE sqe_ref prep_connect(abi::sqe& s, fixed_fd f, uaddr addr, u32 addrlen, udata ud) {
  return detail::fixed(prep_connect(s, s32(f.index()), addr, addrlen, ud));
}
IOULOOP_INLINE sqe_ref prep_shutdown(abi::sqe& s, fixed_fd f, u32 how, udata ud) {
  return detail::fixed(prep_shutdown(s, s32(f.index()), how, ud));
}
// Empties the slot (closing its file): IORING_OP_CLOSE with sqe.fd 0 and
// file_index slot + 1, without IOSQE_FIXED_FILE (the kernel says -EBADF to that).
IOULOOP_INLINE sqe_ref prep_close(abi::sqe& s, fixed_fd f, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::close, 0, 0, 0, 0, ud);
  s.file_index = f.index() + 1;
  return r;
}
// Accept into a free slot of the file table the kernel picks
// (IORING_FILE_INDEX_ALLOC): res is the slot (cqe_view::accepted_direct()),
// or -ENFILE when the table is full. `fd` is the listening socket, a regular
// fd. flags: sock::nonblock or 0; sock::cloexec is -EINVAL here (a slot is
// not an fd that an exec could leak: io_accept_prep refuses it).
IOULOOP_INLINE sqe_ref prep_accept_direct(abi::sqe& s, s32 fd, u32 flags, udata ud) {
  sqe_ref r = prep_accept(s, fd, uaddr{}, uaddr{}, flags, ud);
  s.file_index = abi::file_index_alloc;
  return r;
}
// The multishot form: one CQE per connection while cqe_view::more() holds.
IOULOOP_INLINE sqe_ref prep_accept_multishot_direct(abi::sqe& s, s32 fd, u32 flags, udata ud) {
  sqe_ref r = prep_accept_direct(s, fd, flags, ud);
  s.ioprio = abi::accept_multishot;
  return r;
}
// socket(domain, type, protocol) into the file table (IORING_OP_SOCKET):
// sqe.fd is the domain (af::inet), sqe.off the type (sock::stream, may carry
// sock::nonblock), sqe.len the protocol. `file_index` is
// abi::file_index_alloc (the kernel picks a free slot and res names it:
// cqe_view::accepted_direct(); -ENFILE when none is free) or a slot + 1.
IOULOOP_INLINE sqe_ref prep_socket_direct(abi::sqe& s, s32 domain, u32 type, u32 protocol, u32 file_index, udata ud) {
  sqe_ref r = detail::prep(s, abi::op::socket, domain, 0, protocol, type, ud);
  s.file_index = file_index;
  return r;
}

}  // namespace iouloop
