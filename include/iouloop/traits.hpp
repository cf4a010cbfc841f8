// iouloop/traits.hpp — the few type traits iouloop needs, without <type_traits>
// (the standard library is not available when compiling for BPF).
#pragma once

#include "iouloop/abi.hpp"

namespace iouloop::traits {

template <class A, class B>
inline constexpr bool is_same = false;
template <class A>
inline constexpr bool is_same<A, A> = true;

template <class T>
inline constexpr bool is_unsigned_int = false;
template <>
inline constexpr bool is_unsigned_int<unsigned char> = true;
template <>
inline constexpr bool is_unsigned_int<unsigned short> = true;
template <>
inline constexpr bool is_unsigned_int<unsigned int> = true;
template <>
inline constexpr bool is_unsigned_int<unsigned long> = true;
template <>
inline constexpr bool is_unsigned_int<unsigned long long> = true;

template <class T>
inline constexpr bool is_signed_int = false;
template <>
inline constexpr bool is_signed_int<signed char> = true;
template <>
inline constexpr bool is_signed_int<short> = true;
template <>
inline constexpr bool is_signed_int<int> = true;
template <>
inline constexpr bool is_signed_int<long> = true;
template <>
inline constexpr bool is_signed_int<long long> = true;

template <class T>
inline constexpr bool is_integral = is_unsigned_int<T> || is_signed_int<T> || is_same<T, bool> || is_same<T, char>;

template <class T>
inline constexpr bool is_pointer = false;
template <class T>
inline constexpr bool is_pointer<T*> = true;

template <class T>
inline constexpr bool is_enum = __is_enum(T);
template <class T>
inline constexpr bool is_shareable = __is_trivially_copyable(T) && __is_standard_layout(T);

}  // namespace iouloop::traits
