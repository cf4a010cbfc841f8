// iouloop/engine/kernel.hpp — the loop step as a native kernel callback:
// a policy compiled into kernel/kmod's iouloop_kmod.ko, attached to the ring
// through /dev/iouloop (kernel/README.md, "The kernel module").
//
//   iouloop::ring ring;
//   iouloop::param_region<nop::policy> params(nop::params{.total = 1000, .depth = 32});
//   iouloop::kernel_engine<nop::policy> e(ring, params, IOULOOP_KMOD_POLICY_NOP);
//   int ret = e.run();                     // 0 once the step says STOP
//
// The third argument names the policy compiled into the module
// (kernel/kmod/policies.cc; IOULOOP_KMOD_POLICY_NOP is nop::policy). Status:
// nothing checks yet that the compiled-in policy is P, or that its params
// layout is P's (the module only checks the param region's size).
#pragma once

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "iouloop/engine/attached.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/kmod_uapi.h"

namespace iouloop {

template <policy P>
class kernel_engine {
 public:
  using params_type = typename P::params_type;

  // Registers the param region, opens /dev/iouloop and attaches the
  // compiled-in policy `kmod_policy` to r. Throws iouloop::error: ENOENT when
  // the module is not loaded, else the module's answer (EBUSY: a loop, BPF or
  // native, is attached already; EOPNOTSUPP: the ring's flags; EINVAL: no
  // such policy, or a param region too small for it).
  kernel_engine(ring& r, param_region<P>& params, u32 kmod_policy) : loop_(r, params), ring_fd_(r.fd()) {
    dev_ = ::open("/dev/iouloop", O_RDWR | O_CLOEXEC);
    if (dev_ < 0)
      throw error(errno, errno == ENOENT ? "no /dev/iouloop: load kernel/kmod's iouloop_kmod.ko (insmod)"
                                         : "cannot open /dev/iouloop");
    iouloop_kmod_attach a{static_cast<__u32>(ring_fd_), kmod_policy};
    if (::ioctl(dev_, IOULOOP_KMOD_IOC_ATTACH, &a) < 0) {
      const int e = errno;
      ::close(dev_);
      throw error(e, e == EBUSY ? "the ring has a loop attached already (BPF or native)"
                                : "iouloop_kmod refused to attach the policy to the ring");
    }
  }
  kernel_engine(const kernel_engine&) = delete;
  kernel_engine& operator=(const kernel_engine&) = delete;
  ~kernel_engine() {
    detach();
    ::close(dev_);
  }

  // One io_uring_enter: the kernel runs the loop (attached_loop::run says
  // what the results mean).
  int run() { return loop_.run(); }
  const exit_record& exit() const { return loop_.exit(); }

  // Detaches the native step; a later run() says -EFAULT. Idempotent.
  void detach() {
    if (attached_) ::ioctl(dev_, IOULOOP_KMOD_IOC_DETACH, ring_fd_);
    attached_ = false;
  }
  bool attached() const { return attached_; }

 private:
  attached_loop<P> loop_;
  int ring_fd_;
  int dev_ = -1;
  bool attached_ = true;
};

}  // namespace iouloop
