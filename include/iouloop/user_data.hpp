// iouloop/user_data.hpp — typed user_data: an enum tag plus a payload.
//
//   enum class tag : u8 { read = 1, write };
//   using ud = iouloop::user_data<tag, u32>;
//   prep_read(sqe, fd, buf, len, off, ud::make(tag::read, slot));   // an iouloop::udata
//   ... ud::tag_of(cqe.user_data()) == tag::read, ud::payload_of(...) == slot
//
// The tag takes the top bits, the payload the low bits; both widths are
// checked at compile time, so a policy never shifts or casts by hand.
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/traits.hpp"
#include "iouloop/words.hpp"

namespace iouloop {

template <class Tag, class Payload = u32, u32 TagBits = 8 * sizeof(Tag)>
struct user_data {
  static_assert(traits::is_enum<Tag>,
                "user_data<Tag, ...>: Tag must be an enum; give it a fixed underlying type, e.g. enum class tag : u8");
  static_assert(traits::is_unsigned_int<Payload> || traits::is_enum<Payload>,
                "user_data<..., Payload>: the payload must be an unsigned integer or an enum");
  static_assert(TagBits >= 8 * sizeof(Tag) && TagBits <= 32,
                "user_data: TagBits must hold the tag's whole underlying type and be at most 32");
  static_assert(8 * sizeof(Payload) + TagBits <= 64,
                "user_data: tag bits + payload bits exceed the 64 bits of user_data; use a narrower payload or tag");

  using tag_type = Tag;
  using payload_type = Payload;
  static constexpr u32 payload_bits = 64 - TagBits;

  static constexpr IOULOOP_INLINE udata make(Tag t, Payload p = Payload{}) {
    return udata::from_raw((static_cast<u64>(static_cast<__underlying_type(Tag)>(t)) << payload_bits) |
                           static_cast<u64>(p));
  }
  static constexpr IOULOOP_INLINE Tag tag_of(udata w) { return static_cast<Tag>(w.raw() >> payload_bits); }
  // The tag bits as a word (what tag_of converts), for dispatch<> to compare
  // with each case's tag. In a BPF step the optimiser is kept from testing
  // (raw & tag mask) == tag << payload_bits instead: two 64-bit constants
  // per step, held in registers a CQE loop is short of.
  static IOULOOP_INLINE u64 tag_word(udata w) {
    u64 t = w.raw() >> payload_bits;
#if defined(__bpf__)
    asm("" : "+r"(t));
#endif
    return t;
  }
  static constexpr IOULOOP_INLINE Payload payload_of(udata w) {
    return static_cast<Payload>(w.raw() & ((u64(1) << payload_bits) - 1));
  }
};

}  // namespace iouloop
