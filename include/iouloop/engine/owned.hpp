// iouloop/engine/owned.hpp — one owner for a file descriptor, one for a
// mapping; everything else that holds either is built from these two, with
// defaulted moves and no cleanup code of its own.
//
//   iouloop::unique_fd fd(::open(...));            // closes on destruction
//   iouloop::mapping m = iouloop::mapping::anonymous(bytes, "I/O buffers");
//   prep_read(*sqe, fd.get(), m.user_addr(), len, off, ud);
//
// Host only.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "iouloop/abi.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/words.hpp"

namespace iouloop {

// A file descriptor, closed when the owner goes. -1: none.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A memory mapping, unmapped when the owner goes.
class mapping {
 public:
  mapping() = default;
  mapping(void* p, usize bytes) noexcept : p_(p), bytes_(bytes) {}
  mapping(mapping&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  mapping& operator=(mapping&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  mapping(const mapping&) = delete;
  mapping& operator=(const mapping&) = delete;
  ~mapping() { reset(); }

  // mmap, throwing iouloop::error that names `what` when it fails.
  static mapping map(usize bytes, int prot, int flags, int fd, long offset, const char* what) {
    void* p = ::mmap(nullptr, bytes, prot, flags, fd, offset);
    if (p == MAP_FAILED) {
      const int e = errno;
      throw error(e, std::string("mmap of ") + what + " (" + std::to_string(bytes) + " bytes) failed" +
                         (e == ENOMEM ? ": out of memory, or of locked memory (RLIMIT_MEMLOCK)" : ""));
    }
    return mapping(p, bytes);
  }
  // Page-aligned, zeroed, private memory (I/O buffers, param regions).
  static mapping anonymous(usize bytes, const char* what, int extra_flags = 0) {
    return map(bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0, what);
  }

  void* data() const noexcept { return p_; }
  u8* bytes() const noexcept { return static_cast<u8*>(p_); }
  usize size() const noexcept { return bytes_; }
  // The user address, for SQE fields that point at user memory.
  u64 addr() const noexcept { return reinterpret_cast<u64>(p_); }
  // The same, typed for SQE builders and params (iouloop/words.hpp).
  uaddr user_addr() const noexcept { return uaddr::of(p_); }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  // Gives the mapping up without unmapping it (a ring borrowed from liburing).
  void* release() noexcept {
    bytes_ = 0;
    return std::exchange(p_, nullptr);
  }

 private:
  void reset() noexcept {
    if (p_) ::munmap(p_, bytes_);
    p_ = nullptr;
    bytes_ = 0;
  }
  void* p_ = nullptr;
  usize bytes_ = 0;
};

}  // namespace iouloop
