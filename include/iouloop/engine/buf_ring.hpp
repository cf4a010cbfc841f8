// iouloop/engine/buf_ring.hpp — registering a buf_ring from the params as a
// provided buffer group of a ring, and unregistering it.
//
//   iouloop::ring ring;
//   iouloop::param_region<my::policy> params(init);
//   for (u16 i = 0; i < 64; ++i) params->ring.push_nth(buffers.user_addr(), 2048, i);  // fill it
//   iouloop::buf_ring_registration group(ring, params->ring, iouloop::buf_group{1});
//   iouloop::userspace_engine<my::policy> e(ring, params);   // or bpf_engine
//
// The ring's memory is user memory (IOU_PBUF_RING_MMAP unset): the kernel
// pins the pages of the buf_ring where they are, inside the param region, so
// a BPF step that writes entries through its region mapping and the kernel
// that reads them see the same bytes (docs/buffer-rings.md).
//
// Set-up throws iouloop::error naming the cause (the host convention,
// iouloop/engine/error.hpp); destruction unregisters the group. Declare it
// after the ring and the param region, so that it goes first.
#pragma once

#include <cerrno>
#include <string>
#include <utility>

#include "iouloop/abi.hpp"
#include "iouloop/buf_ring.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/ring.hpp"

namespace iouloop {

namespace sys {
// IORING_REGISTER_PBUF_RING of `entries` entries at user address `addr` as
// group `group`. Returns 0 or -errno.
inline int register_buf_ring(int ring_fd, u64 addr, u32 entries, u16 group) {
  abi::buf_reg reg{};
  reg.ring_addr = addr;
  reg.ring_entries = entries;
  reg.bgid = group;
  return io_uring_register(ring_fd, abi::register_pbuf_ring, &reg, 1);
}
// IORING_UNREGISTER_PBUF_RING: 0, or -ENOENT if the group has no ring.
inline int unregister_buf_ring(int ring_fd, u16 group) {
  abi::buf_reg reg{};
  reg.bgid = group;
  return io_uring_register(ring_fd, abi::unregister_pbuf_ring, &reg, 1);
}
}  // namespace sys

// One provided buffer group registered with one ring; unregistered when it
// goes. Moves (defaulted by its members' owners).
class buf_ring_registration {
 public:
  template <u32 Entries>
  buf_ring_registration(const ring& r, buf_ring<Entries>& br, buf_group group)
      : buf_ring_registration(r, reinterpret_cast<u64>(&br), Entries, group) {}

  buf_ring_registration(buf_ring_registration&&) noexcept = default;
  buf_ring_registration& operator=(buf_ring_registration&& o) noexcept {
    if (this != &o) {
      reset();
      held_ = std::move(o.held_);
    }
    return *this;
  }
  ~buf_ring_registration() { reset(); }

  buf_group group() const { return buf_group{held_.group}; }
  // Unregisters now (the destructor then does nothing). Returns 0 or -errno.
  int reset() noexcept {
    const int fd = std::exchange(held_.fd, -1);
    return fd >= 0 ? sys::unregister_buf_ring(fd, held_.group) : 0;
  }

  // Says what a failed IORING_REGISTER_PBUF_RING (-errno `e`) means.
  static std::string describe_failure(int e, u64 addr, u32 entries, u16 group) {
    const std::string what = "IORING_REGISTER_PBUF_RING of a " + std::to_string(entries) +
                             "-entry ring as buffer group " + std::to_string(group) + " failed";
    if (e == -EEXIST)
      return what +
             ": the group already has a ring (pick another group id, or let the first registration go first), "
             "or the call came from a task that is not the ring's submitter (SINGLE_ISSUER: register from the "
             "thread that created the ring)";
    if (e == -EINVAL && (addr % buf_ring_align))
      return what +
             ": the ring is not page-aligned (the kernel pins whole pages: io_create_region); keep the "
             "buf_ring a member of the params, where param_region aligns it";
    if (e == -EINVAL)
      return what +
             ": the kernel refuses the arguments (IORING_REGISTER_PBUF_RING with user memory needs Linux "
             "5.19+)";
    if (e == -EFAULT)
      return what +
             ": the ring's memory is not mapped writable in this process (the kernel pins it with "
             "FOLL_WRITE)";
    if (e == -ENOMEM) return what + ": out of memory";
    return what;
  }

 private:
  buf_ring_registration(const ring& r, u64 addr, u32 entries, buf_group group) {
    const int e = sys::register_buf_ring(r.fd(), addr, entries, group.id());
    if (e < 0) throw error(-e, describe_failure(e, addr, entries, group.id()));
    held_.fd = r.fd();
    held_.group = group.id();
  }
  // The one resource: (ring fd, group), -1 when none. Moving hands it over.
  struct held {
    int fd = -1;
    u16 group = 0;
    held() = default;
    held(held&& o) noexcept : fd(std::exchange(o.fd, -1)), group(o.group) {}
    held& operator=(held&& o) noexcept {
      fd = std::exchange(o.fd, -1);
      group = o.group;
      return *this;
    }
  };
  held held_;
};

}  // namespace iouloop
