// TCP echo server, second edition: connections live in the ring's fixed file
// table, and every byte received goes through ONE shared provided buffer
// ring, so thousands of connections need no buffer each.
//
// In flight: a multishot direct accept on the host's listening socket, and
// per open slot at most a multishot recv (buffer select from the group;
// single-shot once the slot reached its cap), one send, a cancel or the close:
//
//   accept slot  -> the slot is open; arm its recv
//   recv buffer  -> append the buffer id to the slot's queue (oldest first,
//                   linked through next[]), send it when no send is in flight
//   recv -ENOBUFS-> the ring ran dry: the slot waits on the starved list and
//                   is armed again once buffers are back (the data waits in
//                   the socket: nothing is lost)
//   recv, queue at the cap -> the client sends faster than it reads: cancel
//                   the recv (the data waits in its socket) until its queue
//                   is down to half the cap, so one connection cannot take
//                   the whole shared ring from the others; from then on
//                   the slot receives one buffer per recv
//   recv 0       -> the client half-closed: echo what is queued, then close
//   recv/send <0 -> a reset client: give its buffers back, close
//   send m       -> short: send the rest; whole: the buffer back to the ring
//   close        -> the slot is free for the next accept
//
// One send in flight per slot keeps each connection's bytes in order; a
// buffer is in the ring, in exactly one slot's queue, or being received
// into, so the queues cannot overflow.
//
// Stopping (set by the host after run() returned -EINTR, or by the step once
// `expect` connections have come and gone): the accept is cancelled, every
// open slot's recv is cancelled, what was received is sent, then each slot
// is closed; the loop STOPs when nothing is in flight and no slot is open.
//
// Slots that want attention go through a FIFO (`ready`, each slot at most
// once, flag `queued`); the producer takes one slot per call and prepares at
// most one SQE for it, so a step never scans the table. A fatal error (a
// kernel reply the policy cannot explain) is loop.fail()'s and stops at once.
#pragma once

#include <iouloop/combinators.hpp>

namespace echo2 {
using namespace iouloop;

inline constexpr u32 max_slots = 2048;  // the largest fixed file table the policy tracks
inline constexpr u32 entries = 256;     // buffer ring entries: at most this many buffers
inline constexpr u16 no_buf = 0xffff;   // the end of a slot's queue

// A slot's state bits.
enum : u16 {
  open = 1,
  recv_armed = 2,     // its recv is in flight (multishot; single-shot once capped)
  sending = 4,        // a send of the queue's first buffer is in flight
  recv_over = 8,      // no recv again: EOF, an error, or stopping
  starved = 16,       // on the starved list (its recv ended with -ENOBUFS)
  queued = 32,        // on the ready list
  broken = 64,        // a recv or send failed: drop the queue, close
  cancel_sent = 128,  // the recv's cancel is in flight or done
  closing = 256,
  eof = 512,      // the client half-closed (recv 0)
  paused = 1024,  // its queue reached slot_cap: the recv is cancelled, armed again at half the cap
  capped = 2048,  // it paused once: from now on one buffer per recv (single-shot), so the cap holds
};

struct params {
  buf_ring<entries> ring;  // first: page-aligned, the kernel pins its page
  // set by the host (echo2_host::server)
  buf_group group;
  u16 pad0;
  s32 listener;    // a regular fd: the listening socket
  uaddr buffers;   // nbufs buffers of buf_size bytes (host memory)
  u32 buf_size;    // 1 .. 65536
  u32 nbufs;       // 1 .. entries
  u32 expect;      // stop once this many connections came and went (closed, or turned away: table full)
  u32 slot_cap;    // buffers one connection may hold queued before its recv pauses (1 .. 255)
  u32 stopping;    // the host sets it to stop gracefully; the step sets it once `expect` are served
  u32 recv_limit;  // 1: the kernel ends a multishot recv at a byte total (Linux 6.17+); 0: it refuses one that asks
  // counters
  u32 accepted, closed;
  u32 enobufs;      // multishot recvs the dry ring ended
  u32 rearms;       // starved slots armed again
  u32 resets;       // connections closed after a recv or send error (a reset client)
  u32 eofs;         // connections closed after their client half-closed (recv 0), without an error
  u32 table_full;   // accepts that ended -ENFILE (every slot taken), armed again after a close
  u32 short_sends;  // sends that moved part of a buffer
  u32 pauses;       // recvs cancelled because their connection's queue reached slot_cap
  u64 received, sent;
  u64 dropped;  // bytes received on a connection that broke, given back unsent (nobody reads them)
  // state
  u32 in_flight;  // requests that will still post a final CQE (multishot ones included)
  u32 open_slots;
  u32 in_ring;  // buffers in the ring
  u32 budget;   // starved slots this step may arm again (the buffers in the ring after its reap)
  u32 accept_armed, accept_blocked, accept_cancelled;
  u32 sweep;  // stopping: slots looked at so far
  u32 ready_head, ready_tail, starved_head, starved_tail;
  bounded_array<u16, max_slots> st;
  bounded_array<u16, max_slots> q_first, q_last;  // the slot's received buffers, oldest first (no_buf: none)
  bounded_array<u32, max_slots> off;              // bytes of its first buffer already sent
  bounded_array<u8, max_slots> qlen;              // buffers in the slot's queue
  bounded_array<u16, max_slots> ready, starved_list;
  bounded_array<u16, entries> next;  // the buffer after this one in its slot's queue
  bounded_array<u32, entries> len;   // bytes received into the buffer
};

enum class tag : u8 { accept = 1, recv, send, close, cancel };
using ud = user_data<tag, u32>;  // payload: the slot

// ---- helpers ------------------------------------------------------------------
inline void enqueue(params& p, u32 slot) {
  if (p.st[slot] & queued) return;
  p.st[slot] |= queued;
  p.ready[p.ready_tail++] = u16(slot);
}
inline void starve(params& p, u32 slot) {
  if (p.st[slot] & starved) return;
  p.st[slot] |= starved;
  p.starved_list[p.starved_tail++] = u16(slot);
}
// The buffer back in the ring (the kernel can fill it again at once).
inline void give_back(params& p, u16 bid) {
  p.ring.push_nth(p.buffers, p.buf_size, bid);
  p.in_ring++;
}
inline void pop_first(params& p, u32 slot) {
  const u16 bid = p.q_first[slot];
  p.q_first[slot] = p.next[bid];
  if (p.q_first[slot] == no_buf) p.q_last[slot] = no_buf;
  p.off[slot] = 0;
  p.qlen[slot] = u8(p.qlen[slot] - 1);
  give_back(p, bid);
}
// An SQE for a request that will post a final CQE (counted in in_flight).
template <class Loop>
abi::sqe* next_sqe(Loop& l) {
  abi::sqe* s = l.sq.next();
  if (s) l.params.in_flight++;
  return s;
}

// ---- completions ---------------------------------------------------------------
struct on_accept {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32) {
    params& p = l.params;
    if (!c.more()) {
      p.accept_armed = 0;
      p.in_flight--;
    }
    if (c.res() == err::nfile) {
      // Every slot of the table is taken. The kernel accepted the connection
      // and, finding no slot, closed it: it counts as come and gone. The
      // accept waits for a close, so the backlog is not drained this way.
      p.table_full++;
      p.accept_blocked = 1;
      if (p.expect != 0 && p.closed + p.table_full >= p.expect) p.stopping = 1;
      return;
    }
    if (c.res() == err::canceled && p.stopping) return;
    if (c.res() < 0) {
      l.fail(c.res());
      return;
    }
    const u32 slot = c.accepted_direct().index();
    if (!p.st.contains(slot) || p.st[slot] != 0) {
      l.fail(err::io);  // a slot beyond the policy's arrays (the host's table is too large), or one still in use
      return;
    }
    p.accepted++;
    p.open_slots++;
    p.st[slot] = p.stopping ? u16(open | recv_over) : u16(open);  // stopping: closed at once
    p.q_first[slot] = no_buf;
    p.q_last[slot] = no_buf;
    p.off[slot] = 0;
    p.qlen[slot] = 0;
    enqueue(p, slot);
  }
};

struct on_recv {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    if (!(p.st[slot] & recv_armed)) {
      l.fail(err::io);  // a recv CQE for a slot with no recv
      return;
    }
    if (c.has_buffer()) {
      const u32 bid = c.buffer_id();
      if (bid >= p.nbufs || c.res() <= 0) {
        l.fail(err::io);
        return;
      }
      p.in_ring--;
      p.len[bid] = u32(c.res());
      p.next[bid] = no_buf;
      if (p.q_last[slot] == no_buf)
        p.q_first[slot] = u16(bid);
      else
        p.next[p.q_last[slot]] = u16(bid);
      p.q_last[slot] = u16(bid);
      p.received += u32(c.res());
      if (p.qlen[slot] < 255) p.qlen[slot] = u8(p.qlen[slot] + 1);
      if (p.qlen[slot] >= p.slot_cap && !(p.st[slot] & paused)) {
        // serve() cancels the recv if it is still armed. A multishot armed
        // again after a pause takes what the socket holds before that cancel
        // lands, far past the cap: a slot that paused once (a slow reader)
        // receives one buffer per recv from then on. (The first multishot
        // has a total limit of the buffers left under the cap, which bounds
        // it when the data comes faster than the step sees it.)
        p.st[slot] |= paused | capped;
        p.pauses++;
      }
    }
    if (!c.more()) {
      p.in_flight--;
      p.st[slot] &= u16(~recv_armed);
      if (c.res() == err::nobufs) {
        p.enobufs++;  // the ring ran dry: armed again once buffers are back
        starve(p, slot);
      } else if (c.res() == 0) {
        p.st[slot] |= recv_over | eof;
      } else if (c.res() == err::canceled) {
        if (!(p.st[slot] & paused) || p.stopping || (p.st[slot] & broken)) p.st[slot] |= recv_over;
      } else if (c.res() < 0) {
        p.st[slot] |= recv_over | broken;
      }  // else: data, and the recv ended anyway (single-shot, capped): the producer arms it again
    }
    enqueue(p, slot);
  }
};

struct on_send {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    p.in_flight--;
    p.st[slot] &= u16(~sending);
    enqueue(p, slot);
    if (c.res() <= 0) {
      p.st[slot] |= broken;
      return;
    }
    p.sent += u32(c.res());
    p.off[slot] += u32(c.res());
    if (p.off[slot] < p.len[p.q_first[slot]]) {
      p.short_sends++;  // the rest goes next
      return;
    }
    pop_first(p, slot);
  }
};

struct on_close {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    p.in_flight--;
    if (!c.ok()) l.fail(c.res());
    // A reset shows as an error on the recv or the send (whichever reads the
    // socket's error first; the other may see EOF): counted once, here.
    if (p.st[slot] & broken)
      p.resets++;
    else if (p.st[slot] & eof)
      p.eofs++;
    p.st[slot] = 0;
    p.open_slots--;
    p.closed++;
    p.accept_blocked = 0;  // a free slot: the accept may go again
    if (p.expect != 0 && p.closed + p.table_full >= p.expect) p.stopping = 1;
  }
};

struct on_cancel {  // the accept's or a recv's cancel: its target posts its own CQE
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view, u32) {
    l.params.in_flight--;
  }
};

// ---- requests -------------------------------------------------------------------
struct new_step {  // starved slots armed again this step: one per buffer in the ring after the reap
  template <class Loop>
  static int step(Loop& l) {
    l.params.budget = l.params.in_ring;
    return loop_continue;
  }
};

struct stop_sweep {  // stopping: every open slot onto the ready list, 128 per step
  template <class Loop>
  static int step(Loop& l) {
    params& p = l.params;
    if (!p.stopping) return loop_continue;
    for (u32 i = 0; i < 128; ++i) {
      if (p.sweep >= max_slots) break;
      // index_below: the compiler knows sweep < max_slots here and would drop
      // bounded_array's mask; the verifier, given a pointer walked from an
      // unbounded sweep, would then refuse the access ("R5 unbounded memory access")
      const u32 slot = index_below<max_slots>(p.sweep++);
      if (p.st[slot] & open) enqueue(p, slot);
    }
    return loop_continue;
  }
};

struct next_request {
  template <class Loop>
  static bool produce(Loop& l) {
    params& p = l.params;
    if (l.failed()) return false;
    if (!p.stopping && !p.accept_armed && !p.accept_blocked) {
      abi::sqe* s = next_sqe(l);
      if (!s) return false;
      prep_accept_multishot_direct(*s, p.listener, 0, ud::make(tag::accept, 0));
      p.accept_armed = 1;
      return true;
    }
    if (p.stopping && p.accept_armed && !p.accept_cancelled) {
      abi::sqe* s = next_sqe(l);
      if (!s) return false;
      prep_cancel(*s, ud::make(tag::accept, 0), 0, ud::make(tag::cancel, 0));
      p.accept_cancelled = 1;
      return true;
    }
    if (p.starved_head != p.starved_tail && (p.budget > 0 || p.stopping)) {
      const u32 slot = p.starved_list[p.starved_head++];
      if (p.budget > 0) p.budget--;
      p.st[slot] &= u16(~starved);
      p.rearms++;
      enqueue(p, slot);
    }
    if (p.ready_head == p.ready_tail) return false;
    const u32 slot = p.ready[p.ready_head++];
    p.st[slot] &= u16(~queued);
    return serve(l, p, slot);
  }

  // One request for `slot`, if it wants one. False only when the SQ is full.
  template <class Loop>
  static bool serve(Loop& l, params& p, u32 slot) {
    const u32 st = p.st[slot];
    if (!(st & open) || (st & closing)) return true;
    const fixed_fd f{slot};
    if ((st & broken) || p.stopping) {
      if ((st & recv_armed) && !(st & cancel_sent)) {
        abi::sqe* s = next_sqe(l);
        if (!s) return retry(p, slot);
        prep_cancel(*s, ud::make(tag::recv, slot), 0, ud::make(tag::cancel, slot));
        p.st[slot] |= cancel_sent;
        return true;
      }
      if (!(st & recv_armed)) p.st[slot] |= recv_over;
    } else if ((st & paused) && (st & recv_armed) && !(st & cancel_sent)) {
      abi::sqe* s = next_sqe(l);  // the queue reached the cap: stop receiving for now
      if (!s) return retry(p, slot);
      prep_cancel(*s, ud::make(tag::recv, slot), 0, ud::make(tag::cancel, slot));
      p.st[slot] |= cancel_sent;
      return true;
    }
    const bool has_queue = p.q_first[slot] != no_buf;
    if ((st & broken) && !(st & sending) && has_queue) {  // nobody reads it: the buffer back
      p.dropped += p.len[p.q_first[slot]] - p.off[slot];
      pop_first(p, slot);
      enqueue(p, slot);
      return true;
    }
    if (!(st & broken) && !(st & sending) && has_queue) {
      const u16 bid = p.q_first[slot];
      if (p.off[slot] >= p.len[bid] || p.len[bid] > p.buf_size) return l.fail(err::inval), false;
      abi::sqe* s = next_sqe(l);
      if (!s) return retry(p, slot);
      const uaddr at = p.buffers + u64(bid) * p.buf_size + p.off[slot];
      prep_send(*s, f, at, p.len[bid] - p.off[slot], msg::nosignal, ud::make(tag::send, slot));
      p.st[slot] |= sending;
      enqueue(p, slot);  // the recv may want arming too
      return true;
    }
    if ((p.st[slot] & paused) && !(p.st[slot] & recv_armed) && u32(p.qlen[slot]) * 2 <= p.slot_cap)
      p.st[slot] &= u16(~paused);  // drained to half the cap: receive again
    const u32 now = p.st[slot];
    if (!(now & (recv_armed | recv_over | starved | paused))) {
      if (p.in_ring == 0) {  // it would end -ENOBUFS at once: wait for buffers
        starve(p, slot);
        return true;
      }
      abi::sqe* s = next_sqe(l);
      if (!s) return retry(p, slot);
      if (now & capped)
        prep_recv_select(*s, f, p.group, 0, ud::make(tag::recv, slot));
      else {  // at most the bytes of the buffers left under the cap: a flood the step sees late
              // (many CQEs posted in one go) cannot take the shared ring past the cap
        const u32 left = p.qlen[slot] < p.slot_cap ? p.slot_cap - p.qlen[slot] : 1u;
        prep_recv_multishot(*s, f, p.group, 0, ud::make(tag::recv, slot))
            .total_limit(p.recv_limit ? left * p.buf_size : 0u);
      }
      p.st[slot] = u16((now | recv_armed) & ~cancel_sent);
      return true;
    }
    if ((now & recv_over) && !(now & (recv_armed | sending | starved)) && p.q_first[slot] == no_buf) {
      abi::sqe* s = next_sqe(l);
      if (!s) return retry(p, slot);
      prep_close(*s, f, ud::make(tag::close, slot));
      p.st[slot] |= closing;
    }
    return true;
  }
  static bool retry(params& p, u32 slot) {  // the SQ is full: the slot waits for the next step
    enqueue(p, slot);
    return false;
  }
};

// ---- the step ---------------------------------------------------------------------
struct finished {
  template <class Loop>
  static bool holds(Loop& l) {
    const params& p = l.params;
    return l.failed() || (p.stopping && p.in_flight == 0 && p.open_slots == 0);
  }
};

struct wait_if_idle {  // sleep for the next CQE unless there is work left for the next step
  template <class Loop>
  static int step(Loop& l) {
    const params& p = l.params;
    const bool work = p.ready_head != p.ready_tail || (p.starved_head != p.starved_tail && p.in_ring > 0) ||
                      (p.stopping && p.sweep < max_slots);
    if (p.in_flight && !work) l.wait_cqes(1);
    return loop_continue;
  }
};

struct policy : sequence<reap<dispatch<ud, on<tag::accept, on_accept>, on<tag::recv, on_recv>, on<tag::send, on_send>,
                                       on<tag::close, on_close>, on<tag::cancel, on_cancel>>,
                              32>,
                         stop_when<finished>, new_step, stop_sweep, refill<next_request, 32>, wait_if_idle> {
  using params_type = params;
  static constexpr usize param_region_bytes = 10 * 4096;  // params (9 pages: the ring's, then the state) + exit record
};

}  // namespace echo2
