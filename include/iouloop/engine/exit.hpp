// iouloop/engine/exit.hpp — the host's side of the exit record: how a run
// ended, in words.
//
// The last 128 bytes of every param region hold an iouloop::exit_record
// (iouloop/policy.hpp). The policy writes it with loop.fail(-errno); the
// engines count steps in it and note a step value that is neither CONTINUE
// nor STOP. Each engine's run() begins a run on it and ends it:
//
//   int ret = engine.run();     // the policy's loop.fail() errno, if it stopped after one
//   if (ret < 0) fprintf(stderr, "%s\n", iouloop::describe(engine.exit(), ret).c_str());
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "iouloop/engine/error.hpp"
#include "iouloop/policy.hpp"

namespace iouloop {

namespace detail {
// A run begins: the record is cleared, except after -EINTR (the same run
// goes on: a failure recorded before the signal is kept, steps go on).
inline void begin_run(exit_record& r, int previous_ret) {
  if (previous_ret == -EINTR) return;
  __builtin_memset(static_cast<void*>(&r), 0, sizeof r);
}
// A run ended with `ret` (what io_uring_enter returned, or the userspace
// engine's equivalent). The step said STOP after loop.fail(): the policy's
// errno. Otherwise `ret` as it is.
inline int end_run(const exit_record& r, int ret) {
  const exit_record snapshot = r;  // shared memory: read once
  if (ret == 0 && snapshot.error < 0) return snapshot.error;
  return ret;
}
}  // namespace detail

// The BPF engine's half of loop.fail()'s file: a BPF step records only
// detail::file_hash of the path; the object's BTF line info holds every
// source path it was built from (absolute, or as the compiler spelled it),
// so each path's '/'-separated tails are hashed the same way until one
// matches. Fills r.file; leaves it empty when nothing matches.
inline void resolve_file(exit_record& r, const unsigned char* image, usize size) {
  if (r.error == 0 || r.file[0] != 0) return;
  usize i = 0;
  while (i < size) {
    usize j = i;
    while (j < size && image[j] >= 0x20 && image[j] < 0x7f) ++j;
    if (j < size && image[j] == 0 && j - i >= 3) {  // a NUL-terminated printable string [i, j)
      const char* s = reinterpret_cast<const char*>(image + i);
      for (usize p = 0; p < j - i; ++p) {
        if (p != 0 && s[p - 1] != '/') continue;
        if (detail::file_hash(s + p) != r.file_hash) continue;
        const char* tail = s + p;
        const usize n = j - i - p;
        if (n > sizeof r.file - 1) tail += n - (sizeof r.file - 1);
        if (tail[0] == '.' && tail[1] == '/') tail += 2;  // as the userspace engine writes it
        usize k = 0;
        for (; tail[k] && k + 1 < sizeof r.file; ++k) r.file[k] = tail[k];
        r.file[k] = 0;
        return;
      }
    }
    i = j + 1;
  }
}

// One line on how a run that returned `ret` ended: the policy's failure
// (errno, file:line, step), an invalid step value (value, stage, step), or
// the kernel's errno. Empty for ret == 0.
inline std::string describe(const exit_record& record, int ret) {
  const exit_record r = record;
  std::string out;
  if (r.has_value && ret == -EINVAL) {
    out = "step " + std::to_string(r.value_step) + " returned " + std::to_string(r.value);
    if (r.stage) out += " (stage " + std::to_string(r.stage) + " of its sequence<>)";
    out += ", which is neither loop_continue nor loop_stop: the loop ended with -EINVAL";
  }
  if (r.error < 0) {
    char file[sizeof r.file + 1] = {};
    std::memcpy(file, r.file, sizeof r.file);
    if (!out.empty()) out += "; before that, ";
    out += "the policy failed with " + error::errno_name(-r.error) + " at " + (file[0] ? file : "?") + ":" +
           std::to_string(r.line) + " (the run took " + std::to_string(r.steps) + " steps)";
  }
  if (out.empty() && ret < 0)
    out = "the loop ended with " + error::errno_name(-ret) + " after " + std::to_string(r.steps) + " steps";
  return out;
}

}  // namespace iouloop
