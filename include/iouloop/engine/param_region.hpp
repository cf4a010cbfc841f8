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
#include "iouloop/engine/exit.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/engine/privileges.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/policy.hpp"

namespace iouloop {

template <policy P>
class param_region {
 public:
  using params_type = typename policy_traits<P>::params_type;
  static constexpr usize bytes = policy_traits<P>::region_bytes;

  // `init` is copied in; the rest of the region is zero. Throws
  // iouloop::error when the memory cannot be had.
  explicit param_region(const params_type& init = params_type{})
      : mem_(mapping::anonymous(bytes, "a param region", MAP_POPULATE)) {
    new (mem_.data()) params_type(init);
  }

  params_type& operator*() const { return *get_ptr(); }
  params_type* operator->() const { return get_ptr(); }
  params_type& get() const { return *get_ptr(); }
  void* data() const { return mem_.data(); }

  // Registers the region with `r` (IORING_REGISTER_MEM_REGION). Returns 0
  // or -errno, never throws: -EINVAL and the like mean the kernel lacks the
  // call (6.13+); -EBUSY means the ring already has a param region (one
  // per ring); -EEXIST a SINGLE_ISSUER ring owned by another thread.
  int try_register(const ring& r) noexcept {
    abi::region_desc rd{};
    rd.user_addr = mem_.addr();
    rd.size = bytes;
    rd.flags = abi::mem_region_type_user;
    abi::mem_region_reg reg{};
    reg.region_uptr = reinterpret_cast<u64>(&rd);
    const int ret = sys::io_uring_register(r.fd(), abi::register_mem_region, &reg, 1);
    if (ret == 0) registered_fd_ = r.fd();
    return ret;
  }
  // Set-up for an engine: registers the region with `r` unless it already
  // is. Throws iouloop::error when the ring has another region, and, if
  // `required` (the BPF engine, a loop attached by a loader), on any other
  // failure, with what it means.
  void ensure_registered(const ring& r, bool required) {
    if (registered_fd_ == r.fd()) return;
    const int e = try_register(r);
    if (e < 0 && (e == -EBUSY || required)) throw_registration_failure(e);
  }
  // Names what a failed IORING_REGISTER_MEM_REGION (-errno `e`) means.
  [[noreturn]] static void throw_registration_failure(int e) {
    if (e == -EBUSY)
      throw error(EBUSY,
                  "the ring already has a param region (one per ring): use the param_region that "
                  "was registered first");
    if (e == -ENOMEM) throw error(ENOMEM, param_region_memlock_problem(bytes));
    if (e == -EEXIST)
      throw error(EEXIST,
                  "IORING_REGISTER_MEM_REGION from a task that is not the ring's submitter: register the "
                  "param region from the thread that created the ring");
    throw error(-e, "IORING_REGISTER_MEM_REGION failed: the loop needs it (Linux 6.13+)");
  }
  // The ring fd this region is registered with, or -1.
  int registered_with() const { return registered_fd_; }

  // The library's exit record at the end of the region: how the last run
  // ended (iouloop/engine/exit.hpp).
  exit_record& exit() const { return detail::exit_record_in(static_cast<u8*>(mem_.data()), bytes); }
  // For the engines: around each run(), so that the record describes it.
  void begin_run() { detail::begin_run(exit(), last_ret_); }
  int end_run(int ret) { return last_ret_ = detail::end_run(exit(), ret); }

 private:
  params_type* get_ptr() const { return static_cast<params_type*>(mem_.data()); }

  mapping mem_;
  int registered_fd_ = -1;
  int last_ret_ = 0;
};

}  // namespace iouloop
