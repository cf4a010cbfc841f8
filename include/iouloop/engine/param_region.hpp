// iouloop/engine/param_region.hpp — the typed param region a policy shares
// with its host.
//
// Page-aligned user memory holding one params_type. Registered with the ring
// through IORING_REGISTER_MEM_REGION (a USER region: the kernel pins these
// very pages), so a BPF step and the host read and write the same object.
// The userspace engine hands the same memory to the policy directly.
#pragma once

#include <sys/mman.h>

#include <cerrno>
#include <new>
#include <utility>

#include "iouloop/engine/error.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/policy.hpp"

namespace iouloop {

template <policy P>
class param_region {
 public:
  using params_type = typename policy_traits<P>::params_type;
  static constexpr usize bytes = policy_traits<P>::region_bytes;

  // `init` is copied in; the rest of the region is zero.
  explicit param_region(const params_type& init = params_type{}) {
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) throw error(errno, "mmap of a " + std::to_string(bytes) + "-byte param region failed");
    mem_ = m;
    params_ = new (mem_) params_type(init);
  }
  param_region(const param_region&) = delete;
  param_region& operator=(const param_region&) = delete;
  ~param_region() {
    if (mem_) ::munmap(mem_, bytes);
  }

  params_type& operator*() const { return *params_; }
  params_type* operator->() const { return params_; }
  params_type& get() const { return *params_; }
  void* data() const { return mem_; }

  // Registers the region with `r`. Returns 0, or -errno: -EINVAL or -ENOSYS
  // style failures mean the kernel lacks IORING_REGISTER_MEM_REGION (6.13+);
  // -EBUSY means the ring already has a param region (one per ring).
  int register_with(const ring& r) {
    abi::region_desc rd{};
    rd.user_addr = reinterpret_cast<u64>(mem_);
    rd.size = bytes;
    rd.flags = abi::mem_region_type_user;
    abi::mem_region_reg reg{};
    reg.region_uptr = reinterpret_cast<u64>(&rd);
    int ret = sys::io_uring_register(r.fd(), abi::register_mem_region, &reg, 1);
    if (ret == 0) registered_fd_ = r.fd();
    return ret;
  }
  // The ring fd this region is registered with, or -1.
  int registered_with() const { return registered_fd_; }

 private:
  void* mem_ = nullptr;
  params_type* params_ = nullptr;
  int registered_fd_ = -1;
};

}  // namespace iouloop
