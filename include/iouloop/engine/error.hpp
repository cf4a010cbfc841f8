// iouloop/engine/error.hpp — the one exception type of the host API.
//
// Host set-up (rings, param regions, BPF objects) throws iouloop::error at
// the API edge, with a message that names the cause and the fix. Running a
// loop does not throw: run() returns what io_uring_enter would (0, -EINTR,
// -EINVAL, ...). Nothing that compiles for BPF includes this file.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace iouloop {

class error : public std::runtime_error {
 public:
  error(int errno_value, const std::string& what)
      : std::runtime_error(what + (errno_value ? " [" + errno_name(errno_value) + "]" : std::string())),
        code_(errno_value) {}
  // The errno behind the failure (positive), or 0 when there is none.
  int code() const noexcept { return code_; }

  static std::string errno_name(int e) {
    const char* n = strerrorname_np(e);
    return std::string(n ? n : "errno " + std::to_string(e)) + ": " + std::strerror(e);
  }

 private:
  int code_;
};

}  // namespace iouloop
