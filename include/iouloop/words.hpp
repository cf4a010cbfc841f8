// iouloop/words.hpp — the words an SQE carries that must not be mixed up
// with plain numbers: a request's user_data, a user-space address, and a
// provided buffer group.
//
// SQE builders take them as these types, so an offset, a length or a raw
// number passed where one of them belongs does not compile:
//
//   prep_read(sqe, fd, loop.user_addr(p.buf), len, off, ud::make(tag::read, slot));
//   //                 ^ uaddr                   u32  u64  ^ udata
//
// Both are plain 8-byte structs, so a params_type may hold them.
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/traits.hpp"

namespace iouloop {

namespace detail {
template <class T>
inline constexpr bool always_false = false;
}  // namespace detail

// A request's user_data word. Made by a user_data<Tag, Payload> codec
// (ud::make(tag, payload)) and read back from cqe_view::user_data().
class udata {
 public:
  constexpr udata() = default;
  // For a word that really is raw (a test trace, a foreign tag scheme).
  static constexpr IOULOOP_INLINE udata from_raw(u64 raw) { return udata(raw, 0); }
  constexpr IOULOOP_INLINE u64 raw() const { return raw_; }
  friend constexpr IOULOOP_INLINE bool operator==(udata a, udata b) { return a.raw_ == b.raw_; }

  // A number where a udata belongs is a mistake (an offset or a length
  // passed in its place, say): refuse it at build time, saying what to do.
  template <class T>
    requires traits::is_integral<T>
  constexpr udata(T) {
    static_assert(detail::always_false<T>,
                  "iouloop: user_data is an iouloop::udata, not a number: make it with your "
                  "user_data<Tag, Payload>::make(tag, payload) codec (or udata::from_raw(word) for a raw word)");
  }

 private:
  constexpr IOULOOP_INLINE udata(u64 raw, int) : raw_(raw) {}
  u64 raw_ = 0;
};

// An address in the task's user memory: what an SQE points at (a buffer,
// an iovec array, a timespec, a sockaddr). A step sees its params through a
// kernel mapping on BPF, so a C++ pointer is never the right value there:
// take one with loop.user_addr(field) for memory inside the params, or store
// one the host made with uaddr::of(pointer) in the params.
class uaddr {
 public:
  constexpr uaddr() = default;
  static constexpr IOULOOP_INLINE uaddr from_raw(u64 raw) { return uaddr(raw, 0); }
#if !defined(__bpf__)
  // Host side only: the address of host memory, to store in the params.
  static IOULOOP_INLINE uaddr of(const volatile void* p) { return uaddr(reinterpret_cast<u64>(p), 0); }
#endif
  constexpr IOULOOP_INLINE u64 raw() const { return raw_; }
  constexpr IOULOOP_INLINE bool is_null() const { return raw_ == 0; }
  // `bytes` further on.
  constexpr IOULOOP_INLINE uaddr operator+(u64 bytes) const { return uaddr(raw_ + bytes, 0); }
  friend constexpr IOULOOP_INLINE bool operator==(uaddr a, uaddr b) { return a.raw_ == b.raw_; }

  template <class T>
    requires traits::is_integral<T>
  constexpr uaddr(T) {
    static_assert(detail::always_false<T>,
                  "iouloop: a user address is an iouloop::uaddr, not a number: take one with "
                  "loop.user_addr(field) for memory inside the params, or store uaddr::of(pointer) in the "
                  "params from the host");
  }
  template <class T>
  constexpr uaddr(T*) {
    static_assert(detail::always_false<T>,
                  "iouloop: a C++ pointer is not a user address (on BPF the step sees its params through a "
                  "kernel mapping): use loop.user_addr(field) for memory inside the params, or uaddr::of(pointer) "
                  "on the host");
  }

 private:
  constexpr IOULOOP_INLINE uaddr(u64 raw, int) : raw_(raw) {}
  u64 raw_ = 0;
};

namespace detail {
template <class T>
concept integral_word = traits::is_integral<T>;
template <class T>
concept any_type = true;
}  // namespace detail

// A provided buffer group's id (sqe.buf_group). Its own type, made only
// explicitly (buf_group{3}), so that a buffer id, a length or a flag cannot
// be passed where the group belongs.
class buf_group {
 public:
  constexpr buf_group() = default;
  // buf_group{id}: the id the host registers a buf_ring as.
  template <class T>
    requires detail::integral_word<T> && detail::any_type<T>
  constexpr IOULOOP_INLINE explicit buf_group(T id) : id_(static_cast<u16>(id)) {}
  constexpr IOULOOP_INLINE u16 id() const { return id_; }
  friend constexpr IOULOOP_INLINE bool operator==(buf_group a, buf_group b) { return a.id_ == b.id_; }

  // A number where a group belongs (an implicit conversion: the explicit
  // constructor above is the more constrained, so buf_group{3} takes it).
  template <class T>
    requires detail::integral_word<T>
  constexpr buf_group(T) {
    static_assert(detail::always_false<T>,
                  "iouloop: a buffer group is an iouloop::buf_group, not a number: write buf_group{id} (the id "
                  "the host registered the buf_ring as), or keep the group in the params");
  }

 private:
  u16 id_ = 0;
};
static_assert(sizeof(buf_group) == 2 && traits::is_shareable<buf_group>);

// A slot in the ring's fixed (direct) file table: what a direct accept
// returns and what IOSQE_FIXED_FILE requests name. Not a file descriptor:
// builders take it in overloads of their own (prep_recv(s, fixed_fd, ...)
// sets IOSQE_FIXED_FILE, prep_close(s, fixed_fd, ...) closes the slot), so a
// slot cannot reach the kernel as a regular fd nor the other way round.
class fixed_fd {
 public:
  constexpr fixed_fd() = default;
  // fixed_fd{slot}: a slot the host or a direct accept (cqe_view::accepted_direct()) gave.
  template <class T>
    requires detail::integral_word<T> && detail::any_type<T>
  constexpr IOULOOP_INLINE explicit fixed_fd(T slot) : slot_(static_cast<u32>(slot)) {}
  constexpr IOULOOP_INLINE u32 index() const { return slot_; }
  friend constexpr IOULOOP_INLINE bool operator==(fixed_fd a, fixed_fd b) { return a.slot_ == b.slot_; }

  template <class T>
    requires detail::integral_word<T>
  constexpr fixed_fd(T) {
    static_assert(detail::always_false<T>,
                  "iouloop: a fixed file is an iouloop::fixed_fd (a slot in the ring's file table), not a number: "
                  "take it from cqe_view::accepted_direct() or write fixed_fd{slot}; a regular fd is a plain s32");
  }

 private:
  u32 slot_ = 0;
};
static_assert(sizeof(fixed_fd) == 4 && traits::is_shareable<fixed_fd>);

static_assert(sizeof(udata) == 8 && sizeof(uaddr) == 8);
static_assert(traits::is_shareable<udata> && traits::is_shareable<uaddr>);

}  // namespace iouloop
