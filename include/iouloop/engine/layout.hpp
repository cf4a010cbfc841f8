// iouloop/engine/layout.hpp — helpers for the params layout checks that
// the iouloop_bpf_program rule generates (bpf/btf_layout.cc) into NAME.bpf.h.
// Host only.
#pragma once

#include <type_traits>

namespace iouloop::layout_check {

// M is decltype(&C::member): a data member (not a static one, nor a method).
template <class M>
inline constexpr bool is_data_member = std::is_member_object_pointer_v<M>;

template <class M>
struct member_of {};
template <class T, class C>
struct member_of<T C::*> {
  using type = T;
};
// The declared type of the member behind M (arrays included).
template <class M>
using member_t = typename member_of<M>::type;
// ... and without its array extents and cv-qualifiers: the element type.
template <class M>
using element_t = std::remove_cv_t<std::remove_all_extents_t<member_t<M>>>;

// Its array rank (0: not an array) and extent in dimension D.
template <class M>
inline constexpr unsigned long rank = std::rank_v<member_t<M>>;
template <class M, unsigned D>
inline constexpr unsigned long extent = std::extent_v<member_t<M>, D>;

}  // namespace iouloop::layout_check
