// iouloop/engine/error.hpp — the one exception type of the host API, and
// the host's one error convention:
//
//  - Set-up throws. Constructors (ring, param_region, mapping, the engines,
//    bpf_object, bpf_attachment) and the functions that prepare a loop
//    (param_region::ensure_registered, mapping::map) throw iouloop::error
//    with a message that names the cause and the fix, and leave nothing
//    behind (their members own every fd and mapping).
//  - Running returns -errno. What a running loop or its host calls again and
//    again (run(), ring::get_events, param_region::try_register, the sys::
//    wrappers) returns a count or 0, or -errno, and never throws: run()
//    returns what io_uring_enter would (0, -EINTR, -EINVAL, ...), except
//    that a step which said STOP after loop.fail(-errno) makes it return
//    that errno; engine.exit() and iouloop::describe() say how the run
//    ended (iouloop/engine/exit.hpp).
//
// Nothing that compiles for BPF includes this file.
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
