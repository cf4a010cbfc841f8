// iouloop/engine/fixed_files.hpp — a ring's fixed (direct) file table:
// `slots` empty slots for direct accepts (prep_accept_multishot_direct) and
// requests on iouloop::fixed_fd, unregistered when it goes.
//
//   iouloop::ring ring;
//   iouloop::fixed_file_table files(ring, 1024);   // declared after the ring
//
// Set-up throws iouloop::error naming the cause (iouloop/engine/error.hpp).
#pragma once

#include <cerrno>
#include <string>
#include <utility>

#include "iouloop/abi.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/ring.hpp"

namespace iouloop {

class fixed_file_table {
 public:
  fixed_file_table(const ring& r, u32 slots) {
    abi::rsrc_register reg{};
    reg.nr = slots;
    reg.flags = abi::rsrc_register_sparse;
    const int e = sys::io_uring_register(r.fd(), abi::register_files2, &reg, sizeof reg);
    if (e < 0) throw error(-e, describe_failure(e, slots));
    fd_ = r.fd();
    slots_ = slots;
  }
  fixed_file_table(fixed_file_table&& o) noexcept : fd_(std::exchange(o.fd_, -1)), slots_(std::exchange(o.slots_, 0)) {}
  fixed_file_table& operator=(fixed_file_table&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
      slots_ = std::exchange(o.slots_, 0);
    }
    return *this;
  }
  ~fixed_file_table() { reset(); }

  u32 slots() const { return slots_; }
  // Unregisters now, closing the files still in the table. 0 or -errno.
  int reset() noexcept {
    const int fd = std::exchange(fd_, -1);
    slots_ = 0;
    return fd >= 0 ? sys::io_uring_register(fd, abi::unregister_files, nullptr, 0) : 0;
  }

  static std::string describe_failure(int e, u32 slots) {
    const std::string what = "registering a fixed file table of " + std::to_string(slots) + " slots failed";
    if (e == -EBUSY) return what + ": the ring already has one (one table per ring)";
    if (e == -EMFILE)
      return what +
             ": more slots than RLIMIT_NOFILE allows (raise it) or than the kernel's limit "
             "(IORING_MAX_FIXED_FILES, 1 << 20)";
    if (e == -EINVAL) return what + ": a table needs at least one slot";
    if (e == -EEXIST)
      return what + ": called from a task that is not the ring's submitter (SINGLE_ISSUER: use the ring's thread)";
    return what;
  }

 private:
  int fd_ = -1;
  u32 slots_ = 0;
};

}  // namespace iouloop
