// relay_policy.hpp — a multishot recv into a provided buffer ring, each
// buffer sent on and then given back to the ring by the step itself.
//
// The test's policy for iouloop/buf_ring.hpp on both engines: bytes read
// from fd_in go out on fd_out in order; a buffer returns to the ring when
// its bytes are sent. With few buffers the ring runs dry: the multishot
// recv ends with -ENOBUFS, the data waits in the socket, and the step arms
// the recv again once a buffer is back. With `bundle` set the recv is a
// multishot bundle: one CQE for several buffers, found in ring order.
#pragma once

#include <iouloop/combinators.hpp>

namespace relay {
using namespace iouloop;

inline constexpr u32 entries = 16;  // ring entries; at most this many buffers

struct params {
  buf_ring<entries> ring;  // first, page-aligned: the kernel pins this page
  buf_group group;
  u16 bundle;  // 1: multishot recv bundles
  s32 fd_in, fd_out;
  uaddr buffers;  // nbufs buffers of buf_size bytes (host memory)
  u32 buf_size, nbufs;
  u32 armed;    // a multishot recv is in flight
  u32 sending;  // a send is in flight (one at a time keeps the bytes in order)
  u32 eof;
  u32 head;                      // ring entries the kernel has taken, as counted from the CQEs
  u32 in_ring;                   // buffers in the ring
  u32 q_head, q_tail, sent_off;  // received buffers waiting to be sent, in order
  bounded_array<u16, entries> q_bid;
  bounded_array<u32, entries> q_len;
  u64 received, sent;
  u32 recv_cqes, enobufs, rearms, max_bundle;
};

enum class tag : u8 { recv = 1, send = 2 };
using ud = user_data<tag, u32>;

struct on_recv {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32) {
    params& p = l.params;
    p.recv_cqes++;
    if (c.has_buffer()) {
      // The kernel takes entries in ring order: the first is at our head.
      if (p.ring.at(p.head).bid != c.buffer_id()) l.fail(err::io);
      const u32 n = p.bundle ? p.ring.taken_by(p.head, c.res()) : 1;
      u32 left = u32(c.res());
      for (u32 i = 0; i < entries; ++i) {
        if (i >= n) break;
        const abi::buf& b = p.ring.at(p.head + i);
        const u32 len = left < b.len ? left : b.len;
        p.q_bid[p.q_tail] = b.bid;
        p.q_len[p.q_tail] = len;
        p.q_tail++;
        left -= len;
      }
      if (n > p.max_bundle) p.max_bundle = n;
      p.head += n;
      p.in_ring -= n;
      p.received += u32(c.res());
    }
    if (c.more()) return;
    p.armed = 0;
    if (c.res() == err::nobufs)
      p.enobufs++;  // the ring ran dry: arm again once a buffer is back
    else if (c.res() == 0)
      p.eof = 1;
    else if (c.res() < 0)
      l.fail(c.res());
  }
};

struct on_send {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32) {
    params& p = l.params;
    p.sending = 0;
    if (c.res() < 0) {
      l.fail(c.res());
      return;
    }
    p.sent += u32(c.res());
    p.sent_off += u32(c.res());
    if (p.sent_off < p.q_len[p.q_head]) return;  // short: the rest goes next
    p.ring.push_nth(p.buffers, p.buf_size, p.q_bid[p.q_head]);
    p.in_ring++;
    p.q_head++;
    p.sent_off = 0;
  }
};

struct next_request {
  template <class Loop>
  static bool produce(Loop& l) {
    params& p = l.params;
    if (l.failed()) return false;
    if (!p.armed && !p.eof && p.in_ring > 0) {
      abi::sqe* s = l.sq.next();
      if (!s) return false;
      if (p.bundle)
        prep_recv_multishot_bundle(*s, p.fd_in, p.group, 0, ud::make(tag::recv, 0));
      else
        prep_recv_multishot(*s, p.fd_in, p.group, 0, ud::make(tag::recv, 0));
      if (p.recv_cqes) p.rearms++;
      p.armed = 1;
      return true;
    }
    if (!p.sending && p.q_head != p.q_tail) {
      abi::sqe* s = l.sq.next();
      if (!s) return false;
      const u32 bid = p.q_bid[p.q_head];
      const uaddr at = p.buffers + u64(bid) * p.buf_size + p.sent_off;
      prep_send(*s, p.fd_out, at, p.q_len[p.q_head] - p.sent_off, msg::nosignal, ud::make(tag::send, bid));
      p.sending = 1;
      return true;
    }
    return false;
  }
};

struct finished {
  template <class Loop>
  static bool holds(Loop& l) {
    const params& p = l.params;
    if (l.failed()) return true;  // what is in flight is cancelled when the ring goes
    return !p.armed && !p.sending && p.eof && p.q_head == p.q_tail;
  }
};

struct policy : sequence<reap<dispatch<ud, on<tag::recv, on_recv>, on<tag::send, on_send>>>, stop_when<finished>,
                         refill<next_request, 2>, wait_for<1>> {
  using params_type = params;
  static constexpr usize param_region_bytes = 3 * 4096;  // params (2 pages: buf_ring aligns it) + exit record
};

}  // namespace relay
