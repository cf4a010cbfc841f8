// File copy: up to `depth` blocks in flight, each a read linked to a write
// of the same buffer. Reads post no CQE on success (skip_success), so each
// block normally completes with one write CQE. A read that fails or comes up
// short does post its CQE, and the kernel then cancels the linked write
// without a CQE (a failed skip_success request hides its chain's CQEs): the
// read CQE ends the block. A short block is redone; one that comes up short
// `max_redo` times means the source shrank: -EIO. A failure is recorded with
// loop.fail() (the host's run() returns it) once the blocks in flight end.
// unlinked_policy, below, is the same copy without links: the write goes in
// when the step sees the read's CQE.
#pragma once

#include <iouloop/combinators.hpp>

namespace cp {
using namespace iouloop;

inline constexpr u32 max_depth = 64;
inline constexpr u8 max_redo = 3;

struct params {
  // set by the host
  s32 fd_in, fd_out;
  u64 size;       // bytes to copy
  uaddr buffers;  // depth * block bytes of user memory
  u32 block;      // block size
  u32 depth;      // blocks in flight, 1..max_depth
  // state
  u64 next_off;     // next block to start
  u64 copied;       // bytes written
  u64 free_slots;   // bit i: buffer slot i is free
  u64 redo_slots;   // bit i: slot i's block must be read again
  u64 write_slots;  // unlinked_policy: bit i: slot i was read, its write is not submitted yet
  u32 in_flight;
  u32 redone;  // blocks restarted after a short read
  bounded_array<u64, max_depth> slot_off;
  bounded_array<u32, max_depth> slot_len;
  bounded_array<u8, max_depth> slot_redo;
};

enum class tag : u8 { read = 1, write };
using ud = user_data<tag, u32>;

// Index of the lowest set bit of a non-zero mask, without a loop (BPF has
// no count-trailing-zeros instruction, and a 64-step loop inside the refill
// loop multiplies the verifier's work): de Bruijn multiplication.
inline u32 lowest_bit(u64 mask) {
  static constexpr u8 index[64] = {0,  1,  48, 2,  57, 49, 28, 3,  61, 58, 50, 42, 38, 29, 17, 4,
                                   62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
                                   63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
                                   46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,  13, 8,  7,  6};
  return index_below<64>(index[((mask & (~mask + 1)) * 0x03f79d71b4cb0a89ull) >> 58]);
}

// The host may write anything into params while the loop runs: the bytes a
// block reads into or writes from must stay inside the depth * block the
// host gave.
inline bool block_fits(const params& p, u32 slot, u32 len) {
  return slot < p.depth && p.depth <= max_depth && len <= p.block;
}

// A read linked to a write of the same buffer; false when the SQ has no
// room for both.
template <class Loop>
bool start_block(Loop& loop, u32 slot, u64 off, u32 len) {
  params& p = loop.params;
  if (!block_fits(p, slot, len)) {
    loop.fail(err::inval);  // the params changed under the loop
    return false;
  }
  auto chain = reserve<2>(loop);
  if (!chain) return false;
  uaddr buf = p.buffers + u64(slot) * p.block;
  prep_read(chain[0], p.fd_in, buf, len, off, ud::make(tag::read, slot)).link().skip_success();
  prep_write(chain[1], p.fd_out, buf, len, off, ud::make(tag::write, slot));
  p.slot_off[slot] = off;
  p.slot_len[slot] = len;
  p.in_flight++;
  return true;
}

struct read_cut_short {  // the read failed or was short; its write never ran
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 slot) {
    params& p = loop.params;
    p.in_flight--;
    if (c.res() < 0) {
      loop.fail(c.res());
    } else if (++p.slot_redo[slot] > max_redo) {
      loop.fail(err::io);  // the source is shorter than `size`
    } else {
      p.redone++;
      p.redo_slots |= u64(1) << slot;
    }
  }
};

struct write_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 slot) {
    params& p = loop.params;
    p.in_flight--;
    if (c.res() == s32(p.slot_len[slot])) {
      p.copied += p.slot_len[slot];
      p.free_slots |= u64(1) << slot;
    } else {
      loop.fail(c.res() < 0 ? c.res() : err::io);  // a short write
    }
  }
};

// The next block to start, by Start::start(loop, slot, off, len): one cut
// short first, then a new one; the state changes only once it started.
template <class Start, class Loop>
bool start_next_block(Loop& loop) {
  params& p = loop.params;
  if (p.redo_slots) {
    u32 slot = lowest_bit(p.redo_slots);
    if (!Start::start(loop, slot, p.slot_off[slot], p.slot_len[slot])) return false;
    p.redo_slots &= ~(u64(1) << slot);
    return true;
  }
  if (p.next_off >= p.size || p.free_slots == 0) return false;
  u32 slot = lowest_bit(p.free_slots);
  u64 left = p.size - p.next_off;
  u32 len = left < p.block ? u32(left) : p.block;
  if (!Start::start(loop, slot, p.next_off, len)) return false;
  p.free_slots &= ~(u64(1) << slot);
  p.slot_redo[slot] = 0;
  p.next_off += len;
  return true;
}

struct linked_block {  // a read linked to its write
  template <class Loop>
  static bool start(Loop& loop, u32 slot, u64 off, u32 len) {
    return start_block(loop, slot, off, len);
  }
};

struct next_block {
  template <class Loop>
  static bool produce(Loop& loop) {
    if (loop.failed()) return false;
    return start_next_block<linked_block>(loop);
  }
};

struct finished {  // everything written, or failed with nothing left in flight
  // It reads the params and the failure only: where it stands after a
  // refill (unlinked_policy, serial_policy), the userspace engine still
  // submits with its sleep (params_only_view).
  static constexpr bool reads_params_only = true;
  template <class Loop>
  static bool holds(Loop& loop) {
    const params& p = loop.params;
    return p.in_flight == 0 && (loop.failed() || p.copied >= p.size);
  }
};

struct policy : sequence<reap<dispatch<ud, on<tag::read, read_cut_short>, on<tag::write, write_done>>>,
                         stop_when<finished>, refill<next_block>, wait_for<1>> {
  using params_type = params;
};

// ---- the same copy without links -----------------------------------------------
// unlinked_policy has the shape of liburing's test/bpf_cp.c: a block's read
// posts its CQE, and the step that sees it submits the write of the same
// buffer. Two CQEs and two steps per block, where `policy` has one CQE, but
// no link: the kernel runs a linked write as task work after its read
// (io_queue_next), which costs the kernel loop more than a step does
// (docs/cost.md, "The copy step"). On the userspace engine it is the other
// way round: each step there is a system call. Same params; a block is in
// flight from its read's submission to its write's CQE; write_slots holds
// the blocks read and not yet written.

// Bits set in a mask (BPF has no popcount instruction).
inline u32 bits_set(u64 m) {
  m = m - ((m >> 1) & 0x5555555555555555ull);
  m = (m & 0x3333333333333333ull) + ((m >> 2) & 0x3333333333333333ull);
  m = (m + (m >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return u32((m * 0x0101010101010101ull) >> 56);
}

// Once the copy failed, the writes not submitted yet never will be: they
// stop counting as in flight, so that the loop ends when the rest has.
inline void abandon_writes(params& p) {
  p.in_flight -= bits_set(p.write_slots);
  p.write_slots = 0;
}

template <class Loop>
bool start_read(Loop& loop, u32 slot, u64 off, u32 len) {
  params& p = loop.params;
  if (!block_fits(p, slot, len)) {
    loop.fail(err::inval);  // the params changed under the loop
    abandon_writes(p);
    return false;
  }
  abi::sqe* s = loop.sq.next();
  if (!s) return false;
  prep_read(*s, p.fd_in, p.buffers + u64(slot) * p.block, len, off, ud::make(tag::read, slot));
  p.slot_off[slot] = off;
  p.slot_len[slot] = len;
  p.in_flight++;
  return true;
}

struct read_first {  // a read alone: its write comes once the read's CQE is seen
  template <class Loop>
  static bool start(Loop& loop, u32 slot, u64 off, u32 len) {
    return start_read(loop, slot, off, len);
  }
};

struct read_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 slot) {
    params& p = loop.params;
    if (loop.failed()) {  // no write follows: the block ends here
      p.in_flight--;
      return;
    }
    if (c.res() == s32(p.slot_len[slot])) {
      p.write_slots |= u64(1) << slot;  // the block stays in flight: its write comes next
      return;
    }
    read_cut_short::on_cqe(loop, c, slot);  // the block ends, or is read again
  }
};

struct write_or_read {  // writes of blocks read first, then blocks cut short, then new blocks
  template <class Loop>
  static bool produce(Loop& loop) {
    params& p = loop.params;
    if (loop.failed()) {
      abandon_writes(p);
      return false;
    }
    if (p.write_slots) {
      u32 slot = lowest_bit(p.write_slots);
      if (!block_fits(p, slot, p.slot_len[slot])) {
        loop.fail(err::inval);  // the params changed under the loop
        abandon_writes(p);
        return false;
      }
      abi::sqe* s = loop.sq.next();
      if (!s) return false;
      prep_write(*s, p.fd_out, p.buffers + u64(slot) * p.block, p.slot_len[slot], p.slot_off[slot],
                 ud::make(tag::write, slot));
      p.write_slots &= ~(u64(1) << slot);
      return true;
    }
    return start_next_block<read_first>(loop);
  }
};

// The second stop_when: a failure among this step's completions leaves the
// writes not submitted yet to write_or_read, which drops them; if nothing
// else is in flight, the loop ends here instead of waiting for a CQE.
struct unlinked_policy : sequence<reap<dispatch<ud, on<tag::read, read_done>, on<tag::write, write_done>>>,
                                  stop_when<finished>, refill<write_or_read>, stop_when<finished>, wait_for<1>> {
  using params_type = params;
};

// ---- one request at a time ---------------------------------------------------
// serial_policy has the shape of liburing's test/bpf_cp.c, written with the
// combinators: one buffer (the first block of `buffers`), one request in
// flight. It reads up to a block at `copied`, writes what the read
// returned, and reads again from where the write ended, so a short read or
// a short write needs no bookkeeping. What it gives up against the other
// two: one block in flight whatever `depth` says. A read that returns 0
// before `size` means the source is shorter than claimed: -EIO. Same
// params: slot_len[0] holds the bytes the last read returned, write_slots
// bit 0 says they wait for their write.
struct serial_read_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    params& p = loop.params;
    p.in_flight = 0;
    if (c.res() <= 0) {
      loop.fail(c.res() < 0 ? c.res() : err::io);  // 0: the source ended before `size`
      return;
    }
    p.slot_len[0] = u32(c.res());
    p.write_slots = 1;
  }
};

struct serial_write_done {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    params& p = loop.params;
    p.in_flight = 0;
    if (c.res() < 0) {
      loop.fail(c.res());
      return;
    }
    p.copied += u32(c.res());  // a short write: the next read starts where it ended
    p.next_off = p.copied;
  }
};

// The next request, if none is in flight: the write of what was read, else
// the read of the next block.
struct serial_next {
  template <class Loop>
  static u32 wanted(Loop& loop) {
    const params& p = loop.params;
    if (loop.failed() || p.in_flight != 0) return 0;
    if (p.depth == 0) {  // the host gave no buffer (it gives depth * block bytes)
      loop.fail(err::inval);
      return 0;
    }
    return p.write_slots != 0 || p.copied < p.size;
  }
  template <class Loop>
  static void produce(Loop& loop, abi::sqe& s) {
    params& p = loop.params;
    p.in_flight = 1;
    if (p.write_slots) {
      p.write_slots = 0;
      const u32 len = p.slot_len[0];
      prep_write(s, p.fd_out, p.buffers, len <= p.block ? len : p.block, p.copied, ud::make(tag::write, 0));
      return;
    }
    const u64 left = p.size - p.copied;
    prep_read(s, p.fd_in, p.buffers, left < p.block ? u32(left) : p.block, p.copied, ud::make(tag::read, 0));
  }
};

// The second stop_when: serial_next's refusal of params with no buffer.
struct serial_policy : sequence<reap<dispatch<ud, on<tag::read, serial_read_done>, on<tag::write, serial_write_done>>>,
                                stop_when<finished>, refill<serial_next>, stop_when<finished>, wait_for<1>> {
  using params_type = params;
};

// Host-side set-up of the params: all slots of `depth` free.
inline params make_params(s32 fd_in, s32 fd_out, u64 size, uaddr buffers, u32 block, u32 depth) {
  params p{};
  p.fd_in = fd_in;
  p.fd_out = fd_out;
  p.size = size;
  p.buffers = buffers;
  p.block = block;
  p.depth = depth;
  p.free_slots = depth >= 64 ? ~u64(0) : (u64(1) << depth) - 1;
  return p;
}

}  // namespace cp
