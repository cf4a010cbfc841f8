// TCP proxy: each client the listener accepts gets its own connection to one
// upstream address, and bytes flow both ways through ONE shared provided
// buffer ring. Both sockets of a pair live in the ring's fixed file table.
//
// In flight: a multishot direct accept on the host's listening socket; per
// pair the upstream's socket and connect; per open slot at most a multishot
// recv (buffer select from the group; single-shot once the slot reached its
// cap), one send of what it received to its peer, a shutdown of its peer, a
// cancel or the close:
//
//   accept slot   -> a client; ask for its upstream socket
//   socket slot   -> the pair is made; connect the upstream (address in the params)
//   connect 0     -> linked: arm both recvs
//   connect <0    -> refused: close both (the client sees its connection end)
//   recv buffer   -> onto the slot's queue (oldest first, linked through
//                    next[]), sent to the PEER when no send is in flight
//   recv -ENOBUFS -> the ring ran dry: the slot waits on the starved list and
//                    is armed again once buffers are back (nothing is lost)
//   recv, queue at the cap -> its peer does not take the bytes as fast as
//                    they come: cancel the recv (the data waits in the
//                    socket) until the queue is down to half the cap, so one
//                    direction of one pair cannot take the whole shared ring;
//                    from then on the slot receives one buffer per recv
//                    (a multishot takes what the socket holds before the
//                    cancel lands: far past the cap after a pause); the
//                    first multishot is armed with a total limit of the
//                    bytes of the buffers left under the cap
//   recv 0        -> this side half-closed: send what is queued, then
//                    shutdown(SHUT_WR) the peer; the other way keeps flowing
//   recv/send <0  -> a reset: both recvs and any send still in flight
//                    cancelled, both queues given back unsent (counted in
//                    `dropped`), both closed
//   send m        -> short: send the rest; whole: the buffer back to the ring
//   shutdown 0    -> this direction is done; both done: close both
//   close         -> the slot is free for the next accept or socket
//
// One send in flight per direction keeps each direction's bytes in order; a
// buffer is in the ring, in exactly one slot's queue, or being received
// into. Every byte received is sent or dropped:
// from_client + from_upstream == to_upstream + to_client + dropped.
//
// Stopping (the host sets it after run() returned -EINTR; the step sets it
// once `expect` clients have come and gone): the accept is cancelled and
// every client's recv too, as if each client had half-closed: what it sent
// goes upstream, the upstream gets its FIN, and what the upstream answers
// still reaches the client until the upstream closes its side; then both are
// closed and the loop STOPs with nothing in flight and no slot open.
//
// Slots that want attention go through a FIFO (`ready`, each slot at most
// once); the producer takes one slot per call and prepares at most one SQE
// for it, so a step never scans the table.
#pragma once

#include <iouloop/combinators.hpp>

namespace proxy {
using namespace iouloop;

inline constexpr u32 max_slots = 1024;  // the largest fixed file table the policy tracks (two slots a pair)
inline constexpr u32 entries = 256;     // buffer ring entries: at most this many buffers
inline constexpr u16 no_buf = 0xffff;   // the end of a slot's queue
inline constexpr u16 no_peer = 0xffff;  // a client whose upstream does not exist (yet)

// A slot's state bits.
enum : u32 {
  open = 1u << 0,
  client = 1u << 1,        // the accepted side (else the upstream side)
  asked = 1u << 2,         // client: its upstream's socket was asked for
  pending = 1u << 3,       // client: the upstream's socket or connect is in flight
  connect_sent = 1u << 4,  // client: the connect went out
  linked = 1u << 5,        // the upstream is connected: bytes may flow
  recv_armed = 1u << 6,    // its recv is in flight (multishot; single-shot once capped)
  sending = 1u << 7,       // a send of the queue's first buffer (to the peer) is in flight
  recv_over = 1u << 8,     // no recv again: EOF, an error, or stopping
  starved = 1u << 9,       // on the starved list (its recv ended with -ENOBUFS)
  queued = 1u << 10,       // on the ready list
  broken = 1u << 11,       // the pair is over: drop the queues, close both
  cancel_sent = 1u << 12,  // the recv's cancel is in flight or done
  eof = 1u << 13,          // this side half-closed (recv 0), or stopping (client)
  shutting = 1u << 14,     // shutdown(SHUT_WR) of the peer in flight
  shut_done = 1u << 15,    // this direction is finished: the peer got its FIN
  close_due = 1u << 16,    // the pair is closable: close this slot
  closing = 1u << 17,      // the close is in flight
  reset = 1u << 18,        // client: the pair broke on a recv or send error
  refused = 1u << 19,      // client: the upstream's socket or connect failed
  send_cancel = 1u << 20,  // broken: the cancel of its send in flight went out
  paused = 1u << 21,       // its queue reached slot_cap: the recv is cancelled, armed again at half the cap
  capped = 1u << 22,       // it paused once: from now on one buffer per recv (single-shot), so the cap holds
};
// Something of the slot in flight (or it is on the starved list): the pair
// is not closed under it.
inline constexpr u32 busy = pending | recv_armed | sending | shutting | starved;

// struct sockaddr_in or struct sockaddr_in6, as the kernel reads it (port
// and address in network byte order); `length` says which (16 or 28 bytes).
struct socket_address {
  u16 family;   // af::inet or af::inet6: also the domain of the upstream's socket
  u16 port_be;  // sin_port, sin6_port
  u8 rest[24];  // sockaddr_in: the address, 8 zero bytes; sockaddr_in6: flowinfo, the address, scope id
  u32 length;   // the bytes the connect passes: sizeof(sockaddr_in) or sizeof(sockaddr_in6)
};

struct params {
  buf_ring<entries> ring;  // first: page-aligned, the kernel pins its page
  // set by the host (proxy_host::server)
  buf_group group;
  u16 pad0;
  s32 listener;             // a regular fd: the listening socket
  socket_address upstream;  // where each client's upstream connects (its user address goes into the connect)
  uaddr buffers;            // nbufs buffers of buf_size bytes (host memory)
  u32 buf_size;             // 1 .. 65536
  u32 nbufs;                // 1 .. entries
  u32 expect;               // stop once this many clients came and went (closed, or turned away: table full)
  u32 slot_cap;    // buffers one slot (one direction of a pair) may hold queued before its recv pauses, 1 .. 255
  u32 stopping;    // the host sets it to stop gracefully; the step sets it once `expect` are served
  u32 recv_limit;  // 1: the kernel ends a multishot recv at a byte total (Linux 6.17+); 0: it refuses one that asks
  // counters
  u32 accepted;                    // clients
  u32 connected;                   // upstreams connected
  u32 refused;                     // clients closed because their upstream's connect failed (or its socket)
  u32 clients_closed;              // clients closed (each with its upstream, when it had one)
  u32 client_eofs;                 // clients that half-closed (recv 0 on the client side)
  u32 upstream_eofs;               // upstreams that half-closed (recv 0 on the upstream side)
  u32 shutdowns;                   // shutdown(SHUT_WR) sent and done (a direction finished)
  u32 resets;                      // pairs closed after a recv or send error
  u32 enobufs;                     // recvs the dry ring ended
  u32 rearms;                      // starved slots armed again
  u32 table_full;                  // accepts that ended -ENFILE, armed again after a close
  u32 short_sends;                 // sends that moved part of a buffer
  u32 client_pauses;               // client recvs cancelled at slot_cap (the upstream does not take the bytes)
  u32 upstream_pauses;             // upstream recvs cancelled at slot_cap (the client does not read)
  u64 from_client, from_upstream;  // bytes received
  u64 to_upstream, to_client;      // bytes sent
  u64 dropped;                     // bytes received on a pair that broke, given back unsent
  // state
  u32 in_flight;  // requests that will still post a final CQE (multishot ones included)
  u32 open_slots;
  u32 in_ring;  // buffers in the ring
  u32 budget;   // starved slots this step may arm again (the buffers in the ring after its reap)
  u32 accept_armed, accept_blocked, accept_cancelled;
  u32 sweep;  // stopping: slots looked at so far
  u32 ready_head, ready_tail, starved_head, starved_tail;
  bounded_array<u32, max_slots> st;
  bounded_array<u16, max_slots> peer;             // the other side of the pair (no_peer: none)
  bounded_array<u16, max_slots> q_first, q_last;  // the slot's received buffers, oldest first (no_buf: none)
  bounded_array<u32, max_slots> off;              // bytes of its first buffer already sent
  bounded_array<u16, max_slots> qlen;             // buffers in the slot's queue (at most entries: no overflow)
  bounded_array<u16, max_slots> ready, starved_list;
  bounded_array<u16, entries> next;  // the buffer after this one in its slot's queue
  bounded_array<u32, entries> len;   // bytes received into the buffer
};

enum class tag : u8 { accept = 1, socket, connect, recv, send, shutdown, close, cancel };
using ud = user_data<tag, u32>;  // payload: the slot (socket, connect: the client's)

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
// The other side, when there is one (its state stays 0 otherwise).
inline bool has_peer(const params& p, u32 slot) { return p.peer[slot] != no_peer; }
// The pair is over: both sides stop receiving, drop what they hold, close.
// `cause` (reset, refused) goes on the client's side, which counts it at its close.
inline void break_pair(params& p, u32 slot, u32 cause) {
  p.st[slot] |= broken;
  if (p.st[slot] & client) p.st[slot] |= cause;
  enqueue(p, slot);
  if (!has_peer(p, slot)) return;
  const u32 other = p.peer[slot];
  p.st[other] |= broken;
  if (p.st[other] & client) p.st[other] |= cause;
  enqueue(p, other);
}
inline void give_back(params& p, u16 bid) {  // the buffer back in the ring (the kernel can fill it again at once)
  p.ring.push_nth(p.buffers, p.buf_size, bid);
  p.in_ring++;
}
inline void pop_first(params& p, u32 slot) {
  const u16 bid = p.q_first[slot];
  p.q_first[slot] = p.next[bid];
  if (p.q_first[slot] == no_buf) p.q_last[slot] = no_buf;
  p.off[slot] = 0;
  p.qlen[slot]--;
  give_back(p, bid);
}
inline void open_slot(params& p, u32 slot, u32 bits) {
  p.st[slot] = open | bits;
  p.peer[slot] = no_peer;
  p.q_first[slot] = no_buf;
  p.q_last[slot] = no_buf;
  p.off[slot] = 0;
  p.qlen[slot] = 0;
  p.open_slots++;
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
      // Every slot of the table is taken: the kernel closed the connection
      // it accepted. The accept waits for a close (as in echo2).
      p.table_full++;
      p.accept_blocked = 1;
      if (p.expect != 0 && p.clients_closed + p.table_full >= p.expect) p.stopping = 1;
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
    open_slot(p, slot, p.stopping ? client | broken : client);  // stopping: closed at once
    enqueue(p, slot);
  }
};

struct on_socket {  // payload: the client; res: the upstream's slot
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 cl) {
    params& p = l.params;
    p.in_flight--;
    if (c.res() < 0) {  // no slot (-ENFILE) or no socket: the client goes
      p.st[cl] &= ~pending;
      p.refused++;
      break_pair(p, cl, refused);
      return;
    }
    const u32 up = c.accepted_direct().index();
    if (!p.st.contains(up) || p.st[up] != 0) {
      l.fail(err::io);
      return;
    }
    open_slot(p, up, 0);
    p.peer[up] = u16(cl);
    p.peer[cl] = u16(up);
    enqueue(p, cl);  // the connect goes next
  }
};

struct on_connect {  // payload: the client
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 cl) {
    params& p = l.params;
    p.in_flight--;
    p.st[cl] &= ~pending;
    if (c.res() < 0) {
      p.refused++;
      break_pair(p, cl, refused);
      return;
    }
    p.connected++;
    p.st[cl] |= linked;
    p.st[p.peer[cl]] |= linked;
    enqueue(p, cl);
    enqueue(p, p.peer[cl]);
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
      if (p.st[slot] & client)
        p.from_client += u32(c.res());
      else
        p.from_upstream += u32(c.res());
      p.qlen[slot]++;
      if (p.qlen[slot] >= p.slot_cap && !(p.st[slot] & paused)) {
        p.st[slot] |= paused | capped;  // serve() cancels the recv (if still armed), arms it again at half the cap
        if (p.st[slot] & client)
          p.client_pauses++;
        else
          p.upstream_pauses++;
      }
    }
    if (!c.more()) {
      p.in_flight--;
      p.st[slot] &= ~recv_armed;
      if (c.res() == err::nobufs) {
        p.enobufs++;  // the ring ran dry: armed again once buffers are back
        starve(p, slot);
      } else if (c.res() == 0) {
        p.st[slot] |= recv_over | eof;
        if (p.st[slot] & client)
          p.client_eofs++;
        else
          p.upstream_eofs++;
      } else if (c.res() == err::canceled) {
        if (p.st[slot] & broken)
          p.st[slot] |= recv_over;
        else if (!(p.st[slot] & paused))
          p.st[slot] |= recv_over | eof;  // stopping: as if the client half-closed
        // else paused at the cap: armed again once the queue drains (or, a
        // client while stopping, serve() ends its recv as a half-close)
      } else if (c.res() < 0) {
        p.st[slot] |= recv_over;
        break_pair(p, slot, reset);
      }  // else: data, and the recv ended anyway (a single-shot one, capped): the producer arms it again
    }
    enqueue(p, slot);
  }
};

struct on_send {  // payload: the slot whose queue was sent (to its peer)
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    p.in_flight--;
    p.st[slot] &= ~sending;
    enqueue(p, slot);
    if (c.res() <= 0) {
      break_pair(p, slot, reset);
      return;
    }
    if (p.st[slot] & client)
      p.to_upstream += u32(c.res());
    else
      p.to_client += u32(c.res());
    p.off[slot] += u32(c.res());
    if (p.off[slot] < p.len[p.q_first[slot]]) {
      p.short_sends++;  // the rest goes next
      return;
    }
    pop_first(p, slot);
  }
};

struct on_shutdown {  // payload: the slot whose direction ended (its peer got the FIN)
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    p.in_flight--;
    p.st[slot] &= ~shutting;
    enqueue(p, slot);
    if (c.res() < 0) {  // the peer is gone already (-ENOTCONN after a reset)
      break_pair(p, slot, reset);
      return;
    }
    p.shutdowns++;
    p.st[slot] |= shut_done;
    enqueue(p, p.peer[slot]);  // it may be the pair's last direction
  }
};

struct on_close {
  template <class Loop>
  static void on_cqe(Loop& l, cqe_view c, u32 slot) {
    params& p = l.params;
    p.in_flight--;
    if (!c.ok()) l.fail(c.res());
    const u32 st = p.st[slot];
    if (st & client) {
      // A reset shows as an error on a recv or a send of either side: counted once, here.
      if ((st & reset) && !(st & refused)) p.resets++;
      p.clients_closed++;
      if (p.expect != 0 && p.clients_closed + p.table_full >= p.expect) p.stopping = 1;
    }
    p.st[slot] = 0;
    p.open_slots--;
    p.accept_blocked = 0;  // a free slot: the accept may go again
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
      // index_below: keeps bounded_array's mask (echo2_policy.hpp says why)
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
      p.st[slot] &= ~starved;
      p.rearms++;
      enqueue(p, slot);
    }
    if (p.ready_head == p.ready_tail) return false;
    const u32 slot = p.ready[p.ready_head++];
    p.st[slot] &= ~queued;
    return serve(l, p, slot);
  }

  // One request for `slot`, if it wants one. False only when the SQ is full.
  template <class Loop>
  static bool serve(Loop& l, params& p, u32 slot) {
    const u32 st = p.st[slot];
    if (!(st & open) || (st & closing)) return true;
    if (st & close_due) return close(l, p, slot);
    // a new client: its upstream's socket (the kernel picks the slot)
    if ((st & client) && !(st & (asked | broken))) {
      abi::sqe* s = next_sqe(l);
      if (!s) return retry(p, slot);
      prep_socket_direct(*s, p.upstream.family, sock::stream, 0, abi::file_index_alloc, ud::make(tag::socket, slot));
      p.st[slot] |= asked | pending;
      return true;
    }
    // the upstream's slot is known: connect it
    if ((st & pending) && has_peer(p, slot) && !(st & (connect_sent | broken))) {
      abi::sqe* s = next_sqe(l);
      if (!s) return retry(p, slot);
      prep_connect(*s, fixed_fd{p.peer[slot]}, l.user_addr(p.upstream), p.upstream.length,
                   ud::make(tag::connect, slot));
      p.st[slot] |= connect_sent;
      return true;
    }
    // broken, or stopping (a client stops receiving, as if it had half-closed)
    if ((st & broken) || (p.stopping && (st & client) && !(st & recv_over))) {
      if ((st & recv_armed) && !(st & cancel_sent)) {
        abi::sqe* s = next_sqe(l);
        if (!s) return retry(p, slot);
        prep_cancel(*s, ud::make(tag::recv, slot), 0, ud::make(tag::cancel, slot));
        p.st[slot] |= cancel_sent;
        return true;
      }
      if (!(st & recv_armed)) p.st[slot] |= (st & broken) ? recv_over : (recv_over | eof);
      // broken: a send the peer will not take (its reader is stuck too, or
      // gone) would keep the pair open for good; its bytes are dropped anyway
      if ((st & broken) && (st & sending) && !(st & send_cancel)) {
        abi::sqe* s = next_sqe(l);
        if (!s) return retry(p, slot);
        prep_cancel(*s, ud::make(tag::send, slot), 0, ud::make(tag::cancel, slot));
        p.st[slot] |= send_cancel;
        return true;
      }
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
    if ((p.st[slot] & paused) && !(p.st[slot] & recv_armed) && u32(p.qlen[slot]) * 2 <= p.slot_cap)
      p.st[slot] &= ~paused;  // drained to half the cap: receive again
    const u32 now = p.st[slot];
    if (!(now & broken) && (now & linked)) {
      const u32 to = p.peer[slot];
      if (!(now & sending) && has_queue) {  // the oldest buffer to the peer
        const u16 bid = p.q_first[slot];
        if (p.off[slot] >= p.len[bid] || p.len[bid] > p.buf_size) return l.fail(err::inval), false;
        abi::sqe* s = next_sqe(l);
        if (!s) return retry(p, slot);
        const uaddr at = p.buffers + u64(bid) * p.buf_size + p.off[slot];
        prep_send(*s, fixed_fd{to}, at, p.len[bid] - p.off[slot], msg::nosignal, ud::make(tag::send, slot));
        p.st[slot] |= sending;
        enqueue(p, slot);  // the recv may want arming too
        return true;
      }
      if (!(now & (recv_armed | recv_over | starved | paused))) {
        if (p.in_ring == 0) {  // it would end -ENOBUFS at once: wait for buffers
          starve(p, slot);
          return true;
        }
        abi::sqe* s = next_sqe(l);
        if (!s) return retry(p, slot);
        if (now & capped)  // one buffer: its queue (under the cap now) stays within it
          prep_recv_select(*s, fixed_fd{slot}, p.group, 0, ud::make(tag::recv, slot));
        else {  // at most the bytes of the buffers left under the cap: a flood the step sees late
                // (many CQEs posted in one go) cannot take the shared ring past the cap
          const u32 left = p.qlen[slot] < p.slot_cap ? p.slot_cap - p.qlen[slot] : 1u;
          prep_recv_multishot(*s, fixed_fd{slot}, p.group, 0, ud::make(tag::recv, slot))
              .total_limit(p.recv_limit ? left * p.buf_size : 0u);
        }
        p.st[slot] = (now | recv_armed) & ~cancel_sent;
        return true;
      }
      if ((now & eof) && !(now & (sending | shutting | shut_done)) && !has_queue) {  // all sent: the peer's FIN
        abi::sqe* s = next_sqe(l);
        if (!s) return retry(p, slot);
        prep_shutdown(*s, fixed_fd{to}, shut::wr, ud::make(tag::shutdown, slot));
        p.st[slot] |= shutting;
        return true;
      }
    }
    // the pair is closable: nothing of either side in flight, both directions
    // finished (or broken and both queues dropped)
    const u32 other = has_peer(p, slot) ? p.st[p.peer[slot]] : u32(broken | recv_over);
    const bool done = (now & broken) ? (now & recv_over) && (other & recv_over) && !has_queue &&
                                           (!has_peer(p, slot) || p.q_first[p.peer[slot]] == no_buf)
                                     : (now & shut_done) && (other & shut_done);
    if (done && !((now | other) & busy)) {
      if (has_peer(p, slot)) {
        p.st[p.peer[slot]] |= close_due;
        enqueue(p, p.peer[slot]);
      }
      return close(l, p, slot);
    }
    return true;
  }
  template <class Loop>
  static bool close(Loop& l, params& p, u32 slot) {
    abi::sqe* s = next_sqe(l);
    if (!s) {
      p.st[slot] |= close_due;
      return retry(p, slot);
    }
    prep_close(*s, fixed_fd{slot}, ud::make(tag::close, slot));
    p.st[slot] |= closing;
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

struct policy
    : sequence<reap<dispatch<ud, on<tag::accept, on_accept>, on<tag::socket, on_socket>, on<tag::connect, on_connect>,
                             on<tag::recv, on_recv>, on<tag::send, on_send>, on<tag::shutdown, on_shutdown>,
                             on<tag::close, on_close>, on<tag::cancel, on_cancel>>,
                    32>,
               stop_when<finished>, new_step, stop_sweep, refill<next_request, 32>, wait_if_idle> {
  using params_type = params;
  static constexpr usize param_region_bytes = 8 * 4096;  // params (7 pages: the ring's, then the state) + exit record
};

}  // namespace proxy
