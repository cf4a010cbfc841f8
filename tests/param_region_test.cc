// The typed param region: layout, initial contents, registration rules.
#include <sys/mman.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdint>

#include "iouloop/iouloop.hpp"

namespace {
struct params {
  iouloop::u32 a;
  iouloop::u64 b;
  iouloop::u8 tail[100];
};
template <class Params, iouloop::usize Bytes = 4096>
struct policy {
  using params_type = Params;
  static constexpr iouloop::usize param_region_bytes = Bytes;
  template <class Loop>
  static int step(Loop&) {
    return iouloop::loop_stop;
  }
};
}  // namespace

TEST_CASE("param_region: page-aligned, initialised from the value given, zero elsewhere", "[params]") {
  iouloop::param_region<policy<params>> r(params{7, 9, {1, 2, 3}});
  REQUIRE(reinterpret_cast<std::uintptr_t>(r.data()) % 4096 == 0);
  REQUIRE(&*r == r.data());
  REQUIRE(r->a == 7);
  REQUIRE(r->b == 9);
  REQUIRE(r->tail[2] == 3);
  REQUIRE(r->tail[3] == 0);
  const auto* bytes = static_cast<const unsigned char*>(r.data());
  for (iouloop::usize i = sizeof(params); i < 4096; ++i) REQUIRE(bytes[i] == 0);
  r->a = 11;
  REQUIRE(r.get().a == 11);
}

TEST_CASE("param_region: a declared larger region is that large", "[params]") {
  using big = policy<params, 3 * 4096>;
  STATIC_REQUIRE(iouloop::param_region<big>::bytes == 3 * 4096);
  iouloop::param_region<big> r;
  auto* last = static_cast<volatile unsigned char*>(r.data()) + 3 * 4096 - 1;
  *last = 5;  // the whole region is mapped
  REQUIRE(*last == 5);
}

TEST_CASE("param_region: one per ring, as the kernel says", "[params]") {
  iouloop::ring ring;
  iouloop::param_region<policy<params>> first, second;
  const int e = first.try_register(ring);
  if (e == -EINVAL) SKIP("this kernel lacks IORING_REGISTER_MEM_REGION (Linux 6.13+)");
  REQUIRE(e == 0);
  REQUIRE(first.registered_with() == ring.fd());
  REQUIRE(second.try_register(ring) == -EBUSY);
  REQUIRE(second.registered_with() == -1);
  // The engine accepts the registered one and names the problem with the other.
  REQUIRE_NOTHROW(iouloop::userspace_engine<policy<params>>(ring, first));
  REQUIRE_THROWS_WITH(iouloop::userspace_engine<policy<params>>(ring, second),
                      Catch::Matchers::ContainsSubstring("already has a param region"));
}
