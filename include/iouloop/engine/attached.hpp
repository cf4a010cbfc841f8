// iouloop/engine/attached.hpp — running a loop whose ops someone else
// attached: the unprivileged half of privilege separation.
//
//   iouloop::ring r;                                  // this process is the submitter
//   iouloop::param_region<nop::policy> params(...);
//   iouloop::attached_loop<nop::policy> loop(r, params);   // registers the region here
//   ... a privileged loader attaches the policy to r.fd() (examples/loader) ...
//   int ret = loop.run();                             // 0 once the step says STOP
//
// With loop ops installed, io_uring_enter on the ring runs the loop whoever
// attached them; this process needs no capability and no libbpf. What it must
// do itself: create the ring (it is then the ring's submitter task, the only
// one allowed to run the loop or call io_uring_register on a SINGLE_ISSUER
// ring: io_uring/register.c __io_uring_register says -EEXIST to others) and
// register the param region (IORING_REGISTER_MEM_REGION pins pages of the
// calling process's memory: io_uring/memmap.c io_pin_pages uses current->mm).
#pragma once

#include <cerrno>
#include <string>

#include "iouloop/engine/error.hpp"
#include "iouloop/engine/param_region.hpp"
#include "iouloop/engine/privileges.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/policy.hpp"

namespace iouloop {

// One io_uring_enter on a ring with loop ops: the kernel runs the loop until
// the step returns STOP (0), an invalid value (-EINVAL) or a signal arrives
// (-EINTR); -EEXIST from a task that is not the ring's submitter, -EBADFD for
// a ring still R_DISABLED, -EFAULT when no loop ops are attached.
//
// The arguments are ones the loop ignores but the ordinary io_uring_enter
// path refuses with -EFAULT (an unaligned registered-wait offset,
// io_get_ext_arg_reg): so a ring without ops says -EFAULT, the same as
// __io_run_loop says when they go during a run, instead of returning 0 as if
// the step had said STOP.
inline int run_attached_loop(int ring_fd) {
  constexpr u32 flags = abi::enter::getevents | abi::enter::ext_arg | abi::enter::ext_arg_reg;
  constexpr usize reg_wait_bytes = 64;  // sizeof(struct io_uring_reg_wait)
  return sys::io_uring_enter(ring_fd, 0, 0, flags, reinterpret_cast<const void*>(1), reg_wait_bytes);
}

// The same, for a run: enters again while the step's glue ended the enter
// only to leave a spinning kernel loop (detail::stale_wake_guard,
// iouloop/policy.hpp: on the way back to user space the kernel clears the
// stale notification). `exit` is the param region's record. `reenter` is
// cleared before each enter, so only the glue's STOP in that enter sets it:
// a flag left from an enter that ended otherwise cannot turn a later STOP of
// the policy into a re-entry.
inline int run_attached_loop(int ring_fd, exit_record& exit) {
  volatile exit_record& x = exit;  // written by the step, in the kernel
  for (;;) {
    x.reenter = 0;
    const int ret = run_attached_loop(ring_fd);
    if (ret != 0 || x.reenter == 0) return ret;
    x.idle_steps = 0;
    x.reentries = x.reentries + 1;
  }
}

// The server's side of a loop attached by a loader: registers the param
// region with the ring (here, where its pages live) and runs the loop.
template <policy P>
class attached_loop {
 public:
  attached_loop(ring& r, param_region<P>& params) : ring_(r), params_(params) {
    std::string why = loop_flags_problem(r.flags());
    if (!why.empty()) throw error(EOPNOTSUPP, why);
    params.ensure_registered(r, true);
  }
  // See run_attached_loop.
  int run() {
    params_.begin_run();
    return params_.end_run(run_attached_loop(ring_.fd(), params_.exit()));
  }
  // How the last run ended (iouloop::describe(engine.exit(), ret) in words).
  const exit_record& exit() const { return params_.exit(); }

 private:
  ring& ring_;
  param_region<P>& params_;
};

}  // namespace iouloop
