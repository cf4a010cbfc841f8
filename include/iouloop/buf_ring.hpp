// iouloop/buf_ring.hpp — a provided buffer ring (IORING_REGISTER_PBUF_RING)
// that a step refills itself, on either engine.
//
// The ring is a member of the params, so that it lives in the param region:
// the host registers that very memory as the group's ring (user memory, no
// IOU_PBUF_RING_MMAP), the kernel reads entries from it, and the step, which
// sees the params through the region mapping on BPF or directly on the
// userspace engine, writes them. docs/buffer-rings.md has the kernel's rules
// and why the ring lives there.
//
//   struct params {
//     iouloop::buf_ring<64> ring;   // page-aligned: keep it where it falls
//     iouloop::buf_group group;     // the group id the host registered it as
//     iouloop::uaddr buffers;       // 64 buffers of `size` bytes, host memory
//     ...
//   };
//   prep_recv_multishot(*sqe, fd, p.group, 0, ud::make(tag::recv, 0));
//   ...  // a CQE with c.has_buffer(): c.res() bytes at buffer c.buffer_id()
//   p.ring.push_nth(p.buffers, size, c.buffer_id());   // give it back
//
// Compiles for BPF and the host: one implementation of add/advance. Every
// index is masked by the (power-of-two) entry count, so the verifier needs
// no bounds check.
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/ring.hpp"
#include "iouloop/traits.hpp"
#include "iouloop/words.hpp"

namespace iouloop {

// The page size the kernel requires the ring's address and size to be
// multiples of (io_create_region, io_uring/memmap.c).
inline constexpr u32 buf_ring_align = 4096;

// The ring the kernel takes buffers from: `Entries` struct io_uring_buf, the
// tail in entry 0's reserved field, page-aligned and a whole number of pages
// (the kernel pins whole pages, and nothing else may share them). Plain
// memory in the params; the tail starts at 0 (an empty ring).
//
// The kernel takes entries in ring order from its own head (which only it
// sees); the step adds at the tail. Never put more buffers in the ring than
// it has entries: the tail would overwrite entries the kernel has not taken
// yet. Ids (bid) are the policy's: any u16, usually the buffer's index.
template <u32 Entries>
struct alignas(buf_ring_align) buf_ring {
  static_assert(Entries > 0 && (Entries & (Entries - 1)) == 0,
                "buf_ring<Entries>: Entries must be a power of two (the kernel refuses other counts with "
                "EINVAL, io_register_pbuf_ring): round it up");
  static_assert(Entries < 65536,
                "buf_ring<Entries>: at most 32768 entries (the kernel refuses 65536 and more: its 16-bit head "
                "and tail could not tell a full ring from an empty one)");

  abi::buf bufs[Entries];

  static constexpr IOULOOP_INLINE u32 entries() { return Entries; }
  // What the host registers: the ring's bytes, a whole number of pages.
  static constexpr IOULOOP_INLINE u32 bytes() {
    return (Entries * u32(sizeof(abi::buf)) + buf_ring_align - 1) / buf_ring_align * buf_ring_align;
  }

  // The tail: entries added and published so far (mod 2^16). Only the
  // policy writes it, so a plain read is its latest value.
  IOULOOP_INLINE u16 tail() const { return bufs[0].resv; }

  // Writes the entry `offset` places past the tail, not yet visible to the
  // kernel: advance(n) publishes the n entries added since the last one.
  // The entry's reserved field is left alone (entry 0's is the tail).
  IOULOOP_INLINE void add(uaddr addr, u32 len, u16 bid, u32 offset = 0) {
    abi::buf& e = bufs[mask(u32(tail()) + offset)];
    e.addr = addr.raw();
    e.len = len;
    e.bid = bid;
  }
  // Makes the next `count` entries visible to the kernel.
  IOULOOP_INLINE void advance(u32 count) {
    // release: the entries must be written before the kernel sees the new
    // tail (io_ring_buffer_select reads it with smp_load_acquire). On BPF
    // the compiler barrier keeps the entry stores before the tail store.
#if defined(__bpf__)
    asm volatile("" ::: "memory");
#endif
    detail::store_release(&bufs[0].resv, static_cast<u16>(tail() + count));
  }
  // One buffer back into the ring, visible at once.
  IOULOOP_INLINE void push(uaddr addr, u32 len, u16 bid) {
    add(addr, len, bid);
    advance(1);
  }
  // Buffer `bid` of equal buffers of `size` bytes laid out from `base`
  // (buffer i at base + i * size): the usual pool.
  IOULOOP_INLINE void push_nth(uaddr base, u32 size, u16 bid) { push(base + u64(bid) * size, size, bid); }

  // The entry at ring position `pos` (any u32: it is masked).
  IOULOOP_INLINE const abi::buf& at(u32 pos) const { return bufs[mask(pos)]; }

  // How many entries a completion of `res` bytes took, starting at ring
  // position `head` (the policy's count of entries the kernel has taken so
  // far): a bundle fills its buffers in ring order, each one whole but the
  // last. 1 for res <= 0 or a buffer at least res long, as a plain
  // buffer-select recv takes exactly one. Walks at most Entries entries.
  IOULOOP_INLINE u32 taken_by(u32 head, s32 res) const {
    if (res <= 0) return 1;
    u32 left = u32(res), n = 0;
    for (u32 i = 0; i < Entries; ++i) {
      const u32 len = at(head + i).len;
      ++n;
      if (len >= left) break;
      left -= len;
    }
    return n;
  }

 private:
  static IOULOOP_INLINE u32 mask(u32 i) { return i & (Entries - 1); }
};

}  // namespace iouloop
