// direct_policy.hpp — an echo server on direct descriptors: a multishot
// accept puts each connection in a slot of the ring's fixed file table, and
// recv, send and close name the slot (iouloop::fixed_fd), never an fd.
//
// The test's policy for the fixed-file builders on both engines. A
// connection's state is kept by its slot (the table has `slots` entries);
// a closed slot is free for the kernel to hand out again.
#pragma once

#include <iouloop/combinators.hpp>

namespace direct {
using namespace iouloop;

inline constexpr u32 slots = 8;  // the fixed file table's size
inline constexpr u32 buf_bytes = 4096;

enum state : u32 { free_slot = 0, want_recv, recving, want_send, sending, want_close, closing };

struct params {
  s32 listener;   // a regular fd: the listening socket
  u32 expect;     // connections to serve before stopping
  uaddr buffers;  // slots * buf_bytes, host memory
  u32 accept_armed, accepted, closed, errors;
  u64 echoed;
  bounded_array<u32, slots> st;
  bounded_array<u32, slots> len, off;  // bytes received, bytes of them sent
};

enum class tag : u8 { accept = 1, recv, send, close };
using ud = user_data<tag, u32>;

struct on_accept {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32) {
    params& p = l.params;
    if (!c.more()) p.accept_armed = 0;
    if (!c.ok()) {  // -ENFILE (the table is full) and the like: the test has none
      l.fail(c.res());
      return;
    }
    const fixed_fd f = c.accepted_direct();
    if (!p.st.contains(f.index())) {
      l.fail(err::io);  // the kernel gave a slot beyond the table
      return;
    }
    p.accepted++;
    p.st[f.index()] = want_recv;
  }
};
struct on_recv {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    if (c.res() <= 0) {  // end of stream, or an error: close the slot
      if (c.res() < 0) p.errors++;
      p.st[slot] = want_close;
      return;
    }
    p.len[slot] = u32(c.res());
    p.off[slot] = 0;
    p.st[slot] = want_send;
  }
};
struct on_send {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    if (c.res() < 0) {
      p.errors++;
      p.st[slot] = want_close;
      return;
    }
    p.off[slot] += u32(c.res());
    p.echoed += u32(c.res());
    p.st[slot] = p.off[slot] < p.len[slot] ? want_send : want_recv;
  }
};
struct on_close {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    if (!c.ok()) l.fail(c.res());
    p.closed++;
    p.st[slot] = free_slot;
  }
};

struct next_request {
  template <class Loop>
  static bool produce(Loop& l) {
    params& p = l.params;
    if (l.failed()) return false;
    if (!p.accept_armed && p.accepted < p.expect) {
      abi::sqe* s = l.sq.next();
      if (!s) return false;
      prep_accept_multishot_direct(*s, p.listener, 0, ud::make(tag::accept, 0));
      p.accept_armed = 1;
      return true;
    }
    u32 i = slots;  // the first slot that wants a request (a bound known at compile time)
    for (u32 k = 0; k < slots; ++k) {
      const u32 st = p.st[k];
      if (st == want_recv || st == want_send || st == want_close) {
        i = k;
        break;
      }
    }
    if (i == slots) return false;
    abi::sqe* s = l.sq.next();
    if (!s) return false;
    const u32 st = p.st[i];
    const fixed_fd f{i};
    const uaddr buf = p.buffers + u64(i) * buf_bytes;
    if (st == want_recv) {
      prep_recv(*s, f, buf, buf_bytes, 0, ud::make(tag::recv, i));
      p.st[i] = recving;
    } else if (st == want_send) {
      prep_send(*s, f, buf + p.off[i], p.len[i] - p.off[i], msg::nosignal, ud::make(tag::send, i));
      p.st[i] = sending;
    } else {
      prep_close(*s, f, ud::make(tag::close, i));
      p.st[i] = closing;
    }
    return true;
  }
};

struct finished {
  template <class Loop>
  static bool holds(Loop& l) {
    return l.failed() || l.params.closed >= l.params.expect;
  }
};

struct policy : sequence<reap<dispatch<ud, on<tag::accept, on_accept>, on<tag::recv, on_recv>, on<tag::send, on_send>,
                                       on<tag::close, on_close>>>,
                         stop_when<finished>, refill<next_request, slots + 1>, wait_for<1>> {
  using params_type = params;
};

}  // namespace direct
