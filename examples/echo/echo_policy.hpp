// TCP echo server. In flight: one multishot accept on the host's listening
// socket, and per open connection exactly one request on its slot:
//
//   accept  -> take a free slot (none free: close the socket, count it)
//              and recv into the slot's buffer
//   recv n  -> send those n bytes back;  recv 0 or an error -> close
//   send m  -> short: send the rest;  all sent: recv again;  error -> close
//   close   -> free the slot
//
// Once `expect_clients` connections were accepted and all are closed, the
// accept is cancelled and the loop stops when nothing is in flight. A fatal
// error (accept, close or submission failing) is recorded with loop.fail()
// and stops it at once; the host's run() returns it and the host closes the
// sockets still in params.fd[].
//
// Every request's user_data is (tag, slot), and each slot has one request in
// flight at a time, so a completion always finds its slot's state as left.
// A step prepares at most one SQE per CQE it drains (16) plus the accept or
// its cancel: the ring needs 17 SQ entries at least (ring_options{} has 64).
#pragma once

#include <iouloop/combinators.hpp>

namespace echo {
using namespace iouloop;

inline constexpr u32 max_conns = 64;  // slots at most

struct params {
  // set by the host (make_params)
  s32 listen_fd;
  u32 slots;           // connection slots, 1..max_conns
  uaddr buffers;       // slots * slot_bytes bytes of user memory
  u32 slot_bytes;      // receive buffer per connection
  u32 expect_clients;  // stop after this many connections came and went; 0: serve until interrupted
  // counters
  u32 accepted;     // connections accepted (served and rejected)
  u32 closed;       // served connections closed
  u32 rejected;     // closed at once: no free slot
  u32 conn_errors;  // served connections that ended with a recv/send error (a reset peer)
  u32 short_sends;  // sends that moved fewer bytes than asked, continued
  u64 bytes_echoed;
  // state
  u32 open;          // connections holding a slot
  u32 in_flight;     // requests other than the multishot accept
  u32 accept_armed;  // the multishot accept is in flight
  u32 stopping;      // done serving: the accept is cancelled, not re-armed
  u32 free_count;    // free slots: free_list[0 .. free_count)
  bounded_array<u8, max_conns> free_list;
  bounded_array<s32, max_conns> fd;    // the connection's socket, -1 when the slot is free
  bounded_array<u32, max_conns> len;   // bytes received, being echoed
  bounded_array<u32, max_conns> sent;  // of which sent so far
};

enum class tag : u8 { accept = 1, recv, send, close, reject, cancel };
using ud = user_data<tag, u32>;

// ---- helpers -----------------------------------------------------------------
// An SQE for a request that will post one CQE (counted in in_flight).
template <class Loop>
abi::sqe* next_sqe(Loop& loop) {
  abi::sqe* s = loop.sq.next();
  if (s)
    loop.params.in_flight++;
  else
    loop.fail(err::busy);  // SQ full: the ring is smaller than 17 entries
  return s;
}

// The host may write anything into params while the loop runs: a request's
// bytes must stay inside one of the `slots` buffers the host gave, and a send
// inside what was received. Otherwise a fatal -EINVAL.
inline bool slot_in_range(const params& p, u32 slot) { return slot < p.slots; }

template <class Loop>
void start_recv(Loop& loop, u32 slot) {
  params& p = loop.params;
  if (!slot_in_range(p, slot)) return (void)loop.fail(err::inval);
  if (abi::sqe* s = next_sqe(loop))
    prep_recv(*s, p.fd[slot], p.buffers + u64(slot) * p.slot_bytes, p.slot_bytes, 0, ud::make(tag::recv, slot));
}

template <class Loop>
void start_send(Loop& loop, u32 slot) {  // the bytes of the slot not sent yet
  params& p = loop.params;
  if (!slot_in_range(p, slot) || p.sent[slot] >= p.len[slot] || p.len[slot] > p.slot_bytes)
    return (void)loop.fail(err::inval);
  if (abi::sqe* s = next_sqe(loop))
    prep_send(*s, p.fd[slot], p.buffers + u64(slot) * p.slot_bytes + p.sent[slot], p.len[slot] - p.sent[slot],
              msg::nosignal /* a reset peer is an error, not SIGPIPE */, ud::make(tag::send, slot));
}

template <class Loop>
void start_close(Loop& loop, u32 slot) {
  params& p = loop.params;
  if (abi::sqe* s = next_sqe(loop)) prep_close(*s, p.fd[slot], ud::make(tag::close, slot));
}

// ---- completions -----------------------------------------------------------------
struct accept_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    params& p = loop.params;
    if (!c.more()) p.accept_armed = 0;  // the multishot ended: next_accept re-arms it
    if (c.res() < 0) {
      if (!(p.stopping && c.res() == err::canceled)) loop.fail(c.res());
      return;
    }
    p.accepted++;
    if (p.free_count == 0) {  // every slot busy: turn the connection away
      p.rejected++;
      if (abi::sqe* s = next_sqe(loop)) prep_close(*s, c.res(), ud::make(tag::reject));
      return;
    }
    p.free_count--;
    const u32 slot = p.free_list[p.free_count];
    p.fd[slot] = c.res();
    p.open++;
    start_recv(loop, slot);
  }
};

struct recv_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 slot) {
    params& p = loop.params;
    p.in_flight--;
    if (c.res() <= 0) {  // 0: the client is done sending
      if (c.res() < 0) p.conn_errors++;
      start_close(loop, slot);
      return;
    }
    p.len[slot] = u32(c.res());
    p.sent[slot] = 0;
    start_send(loop, slot);
  }
};

struct send_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 slot) {
    params& p = loop.params;
    p.in_flight--;
    if (c.res() <= 0) {
      p.conn_errors++;
      start_close(loop, slot);
      return;
    }
    p.bytes_echoed += u32(c.res());
    p.sent[slot] += u32(c.res());
    if (p.sent[slot] < p.len[slot]) {
      p.short_sends++;
      start_send(loop, slot);
    } else {
      start_recv(loop, slot);
    }
  }
};

struct close_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 slot) {
    params& p = loop.params;
    p.in_flight--;
    if (!c.ok()) loop.fail(c.res());
    p.fd[slot] = -1;
    p.open--;
    p.closed++;
    p.free_list[p.free_count] = u8(slot);
    p.free_count++;
  }
};

struct other_done {  // a rejected socket's close, the accept's cancel
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    loop.params.in_flight--;
    if (ud::tag_of(c.user_data()) == tag::reject && !c.ok()) loop.fail(c.res());
  }
};

// ---- the step ------------------------------------------------------------------
inline bool all_served(const params& p) {
  return p.expect_clients != 0 && p.accepted >= p.expect_clients && p.open == 0 && p.in_flight == 0;
}

struct accept_control {  // keep the multishot accept armed until done serving, then cancel it
  template <class Loop>
  static int step(Loop& loop) {
    params& p = loop.params;
    if (loop.failed() || p.stopping) return loop_continue;
    if (all_served(p)) {
      p.stopping = 1;
      if (abi::sqe* s = p.accept_armed ? next_sqe(loop) : nullptr)
        prep_cancel(*s, ud::make(tag::accept), 0, ud::make(tag::cancel));
    } else if (!p.accept_armed) {
      if (abi::sqe* s = loop.sq.next()) {  // else retried next step
        prep_accept_multishot(*s, p.listen_fd, sock::cloexec, ud::make(tag::accept));
        p.accept_armed = 1;
      }
    }
    return loop_continue;
  }
};

struct finished {
  template <class Loop>
  static bool holds(Loop& loop) {
    const params& p = loop.params;
    return loop.failed() || (p.stopping && !p.accept_armed && p.in_flight == 0 && p.open == 0);
  }
};

struct wait_if_busy {  // sleep for the next CQE, unless nothing could post one
  template <class Loop>
  static int step(Loop& loop) {
    if (loop.params.accept_armed || loop.params.in_flight) loop.wait_cqes(1);
    return loop_continue;
  }
};

struct policy
    : sequence<reap<dispatch<ud, on<tag::accept, accept_done>, on<tag::recv, recv_done>, on<tag::send, send_done>,
                             on<tag::close, close_done>, on<tag::reject, other_done>, on<tag::cancel, other_done>>>,
               stop_when<finished>, accept_control, submit_or_fail, wait_if_busy> {
  using params_type = params;
};

// Host-side set-up: `slots` free slots of `slot_bytes` at `buffers`.
inline params make_params(s32 listen_fd, uaddr buffers, u32 slots, u32 slot_bytes, u32 expect_clients) {
  params p{};
  p.listen_fd = listen_fd;
  p.slots = slots;
  p.buffers = buffers;
  p.slot_bytes = slot_bytes;
  p.expect_clients = expect_clients;
  const u32 n = slots < max_conns ? slots : max_conns;
  for (u32 i = 0; i < max_conns; ++i) p.fd[i] = -1;
  for (u32 i = 0; i < n; ++i) p.free_list[i] = u8(n - 1 - i);  // slot 0 is taken first
  p.free_count = n;
  return p;
}

}  // namespace echo
