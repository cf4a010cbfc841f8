// iouloop/buf_ring.hpp (the view both engines' steps write) and
// iouloop/engine/buf_ring.hpp (registering it), on the host's kernel.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstddef>

#include "iouloop/iouloop.hpp"

using namespace iouloop;
using Catch::Matchers::ContainsSubstring;

namespace {
struct params {
  buf_ring<8> ring;
  buf_group group;
  u32 after;
};
struct ring_policy {
  using params_type = params;
  template <class Loop>
  static int step(Loop&) {
    return loop_stop;
  }
  static constexpr usize param_region_bytes = 3 * 4096;
};
}  // namespace

TEST_CASE("buf_ring is whole pages, page-aligned, and starts empty", "[bufring]") {
  STATIC_REQUIRE(sizeof(buf_ring<1>) == 4096);
  STATIC_REQUIRE(sizeof(buf_ring<256>) == 4096);
  STATIC_REQUIRE(sizeof(buf_ring<512>) == 8192);
  STATIC_REQUIRE(alignof(buf_ring<8>) == 4096);
  STATIC_REQUIRE(buf_ring<8>::bytes() == 4096 && buf_ring<512>::bytes() == 8192);
  STATIC_REQUIRE(offsetof(params, ring) == 0 && offsetof(params, group) == 4096);
  STATIC_REQUIRE(traits::is_shareable<params>);
  param_region<ring_policy> p;
  REQUIRE(reinterpret_cast<u64>(&p->ring) % 4096 == 0);
  REQUIRE(p->ring.tail() == 0);
}

TEST_CASE("buf_ring add/advance: entries at the tail, masked, published by advance", "[bufring]") {
  param_region<ring_policy> p;
  buf_ring<8>& r = p->ring;
  r.add(uaddr::from_raw(0x1000), 64, 5);
  r.add(uaddr::from_raw(0x2000), 32, 6, 1);
  REQUIRE(r.tail() == 0);  // written, not yet published
  REQUIRE((r.at(0).addr == 0x1000 && r.at(0).len == 64 && r.at(0).bid == 5));
  REQUIRE((r.at(1).addr == 0x2000 && r.at(1).len == 32 && r.at(1).bid == 6));
  r.advance(2);
  REQUIRE(r.tail() == 2);
  // entry 0's reserved field is the tail: writing entry 0 again leaves it
  for (u16 i = 0; i < 14; ++i) r.push_nth(uaddr::from_raw(0x10000), 100, i);
  REQUIRE(r.tail() == 16);
  REQUIRE((r.at(16).bid == 6 && r.at(16).addr == 0x10000 + 600 && r.at(16).len == 100));  // wrapped: 16 & 7 == 0
  REQUIRE(r.bufs[0].resv == 16);
  REQUIRE(r.at(15).bid == 13);
  REQUIRE(&r.at(15) == &r.at(7));  // any position is masked
  // the tail is 16 bits, as the kernel's (it wraps, the mask still holds)
  for (u32 i = 0; i < 65536; ++i) r.advance(1);
  REQUIRE(r.tail() == 16);
}

TEST_CASE("buf_ring::taken_by counts the entries a bundle of res bytes filled", "[bufring]") {
  param_region<ring_policy> p;
  buf_ring<8>& r = p->ring;
  const u32 lens[] = {100, 100, 50, 100, 100, 100, 100, 100};
  for (u16 i = 0; i < 8; ++i) r.push(uaddr::from_raw(0x1000 * (i + 1)), lens[i], i);
  REQUIRE(r.taken_by(0, 1) == 1);
  REQUIRE(r.taken_by(0, 100) == 1);
  REQUIRE(r.taken_by(0, 101) == 2);
  REQUIRE(r.taken_by(0, 250) == 3);
  REQUIRE(r.taken_by(0, 251) == 4);
  REQUIRE(r.taken_by(2, 50) == 1);
  REQUIRE(r.taken_by(6, 150) == 2);      // 6, 7
  REQUIRE(r.taken_by(7, 150) == 2);      // 7, then 8 & 7 == 0: wraps
  REQUIRE(r.taken_by(0, 0) == 1);        // no data: a plain select's one buffer
  REQUIRE(r.taken_by(0, 1 << 30) == 8);  // never more than the ring holds
}

TEST_CASE("buf_ring_registration registers the params' ring and unregisters it when it goes", "[bufring]") {
  ring r;
  param_region<ring_policy> p;
  {
    buf_ring_registration g(r, p->ring, buf_group{3});
    REQUIRE(g.group() == buf_group{3});
    // one ring per group
    REQUIRE_THROWS_WITH(buf_ring_registration(r, p->ring, buf_group{3}),
                        ContainsSubstring("the group already has a ring") && ContainsSubstring("[EEXIST"));
    // moves hand the registration over; the moved-from one does nothing
    buf_ring_registration moved(std::move(g));
    REQUIRE(moved.group() == buf_group{3});
    REQUIRE(g.reset() == 0);
    REQUIRE_THROWS_WITH(buf_ring_registration(r, p->ring, buf_group{3}), ContainsSubstring("[EEXIST"));
  }
  // gone with its owner: the group is free again
  buf_ring_registration again(r, p->ring, buf_group{3});
  REQUIRE(again.reset() == 0);
  REQUIRE(sys::unregister_buf_ring(r.fd(), 3) == -ENOENT);
}

TEST_CASE("buf_ring_registration names what the kernel refuses", "[bufring]") {
  ring r;
  mapping m = mapping::anonymous(3 * 4096, "test memory");
  // not page-aligned: io_create_region wants page multiples. (A buf_ring<N>
  // is alignas(4096), so a misaligned one cannot be named without undefined
  // behaviour, which UBSan reports: the kernel's answer and the message the
  // registration gives for it are checked apart.)
  const u64 misaligned = m.addr() + 64;
  REQUIRE(sys::register_buf_ring(r.fd(), misaligned, 8, 1) == -EINVAL);
  CHECK_THAT(buf_ring_registration::describe_failure(-EINVAL, misaligned, 8, 1),
             ContainsSubstring("the ring is not page-aligned"));
  REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 3, 1) == -EINVAL);      // not a power of two
  REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 65536, 1) == -EINVAL);  // too many
  // memory that is not mapped
  const u64 hole = m.addr() + 4096;
  REQUIRE(::munmap(reinterpret_cast<void*>(hole), 4096) == 0);
  REQUIRE(sys::register_buf_ring(r.fd(), hole, 8, 1) == -EFAULT);
}

TEST_CASE("a ring's kernel features say whether recv bundles exist", "[bufring]") {
  ring r;
  REQUIRE((r.features() & abi::feat::single_mmap) != 0);
  INFO("IORING_FEAT_RECVSEND_BUNDLE: " << r.supports_bundles());
  SUCCEED();
}

// What the kernel allows for a ring in user memory (IOU_PBUF_RING_MMAP
// unset): docs/buffer-rings.md cites each from io_register_pbuf_ring
// (io_uring/kbuf.c) and io_create_region (io_uring/memmap.c). Run on the
// host's kernel and in the VM (7.2.13).
TEST_CASE("the kernel's rules for a buffer ring in user memory", "[bufring][kernel]") {
  SECTION("inside a registered param region, in either order of registration") {
    {
      ring r;
      param_region<ring_policy> p;
      if (p.try_register(r) < 0) SKIP("no IORING_REGISTER_MEM_REGION here (Linux 6.13+)");
      REQUIRE(sys::register_buf_ring(r.fd(), reinterpret_cast<u64>(&p->ring), 8, 1) == 0);
      REQUIRE(sys::unregister_buf_ring(r.fd(), 1) == 0);
    }
    ring r;
    param_region<ring_policy> p;
    REQUIRE(sys::register_buf_ring(r.fd(), reinterpret_cast<u64>(&p->ring), 8, 1) == 0);
    REQUIRE(p.try_register(r) == 0);  // the region's pages include the ring's: pinned twice, allowed
  }
  SECTION("the same page as the ring of two groups: allowed (nothing checks for overlap)") {
    ring r;
    mapping m = mapping::anonymous(4096, "test memory");
    REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 8, 1) == 0);
    REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 8, 2) == 0);
  }
  SECTION("the whole PAGE_ALIGN(16 * entries) bytes must be mapped and writable") {
    ring r;
    mapping m = mapping::anonymous(2 * 4096, "test memory");
    REQUIRE(::munmap(m.bytes() + 4096, 4096) == 0);                        // a hole after the first page
    REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 256, 1) == 0);        // 4096 bytes: one page
    REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 512, 2) == -EFAULT);  // 8192: a page in the hole
    mapping ro = mapping::map(4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0, "read-only memory");
    REQUIRE(sys::register_buf_ring(r.fd(), ro.addr(), 8, 3) == -EFAULT);  // pinned with FOLL_WRITE
  }
  SECTION("min_left is for incremental rings only") {
    ring r;
    mapping m = mapping::anonymous(4096, "test memory");
    abi::buf_reg reg{};
    reg.ring_addr = m.addr();
    reg.ring_entries = 8;
    reg.bgid = 1;
    reg.min_left = 16;
    REQUIRE(sys::io_uring_register(r.fd(), abi::register_pbuf_ring, &reg, 1) == -EINVAL);
  }
  SECTION("the pages stay pinned after munmap: unregistering still works") {
    ring r;
    mapping m = mapping::anonymous(4096, "test memory");
    REQUIRE(sys::register_buf_ring(r.fd(), m.addr(), 8, 1) == 0);
    m = mapping();  // unmapped
    REQUIRE(sys::unregister_buf_ring(r.fd(), 1) == 0);
  }
}
