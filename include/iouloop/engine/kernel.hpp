// iouloop/engine/kernel.hpp — the loop step as a native kernel callback:
// a policy compiled into kernel/kmod's iouloop_kmod.ko, attached to the ring
// through /dev/iouloop (kernel/README.md, "The kernel module").
//
//   #include "kernel/kmod/native_policies.hpp"   // the module's list
//   IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES) // each type, its name there
//
//   iouloop::ring ring;
//   iouloop::param_region<nop::policy> params(nop::params{.total = 1000, .depth = 32});
//   iouloop::kernel_engine<nop::policy> e(ring, params);
//   int ret = e.run();                     // 0 once the step says STOP
//
// Which compiled-in step runs P is found by P's type, from the list the
// module was built from; the module checks at attach that it was built from
// the same sources as this program (the list's fingerprint: a hash of the
// list, its policies, the library and the module, kernel/kmod/fingerprint.sh)
// and with the same params and region sizes (ESTALE otherwise). A BPF
// program handle is refused at compile time: BPF objects go to bpf_engine.
#pragma once

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "iouloop/engine/attached.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/kmod_uapi.h"

namespace iouloop {

// The name a policy type has in the module, and the fingerprint of the list's
// sources: specialised for every entry of the module's list by
// IOULOOP_NATIVE_STEPS.
template <class P>
struct native_step_of;

// IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES), at namespace scope, once per
// program: kernel_engine<P> then knows P's name in the module.
#define IOULOOP_NATIVE_STEP_ENTRY(name_, P)                                       \
  template <>                                                                     \
  struct iouloop::native_step_of<P> {                                             \
    static constexpr const char* name = #name_;                                   \
    static constexpr unsigned long long fingerprint = IOULOOP_NATIVE_FINGERPRINT; \
  };
#define IOULOOP_NATIVE_STEPS(LIST) LIST(IOULOOP_NATIVE_STEP_ENTRY)

template <class P>
concept has_native_step = requires { native_step_of<P>::name; };

template <policy P>
class kernel_engine {
 public:
  using params_type = typename P::params_type;
  static constexpr const char* name = "native";

  // Registers the param region, opens /dev/iouloop and attaches the step the
  // module compiled from P. Throws iouloop::error: ENOENT when the module is
  // not loaded or has no such policy, ESTALE when its copy of P was built
  // with other params (rebuild the module), EBUSY when a loop (BPF or
  // native) is attached already, EOPNOTSUPP for the ring's flags.
  kernel_engine(ring& r, param_region<P>& params) : kernel_engine(r, params, listed_name()) {}

  // The same, for the step the module lists as `name` (a test of the
  // module's checks; kernel_engine(r, params) is the usual form).
  kernel_engine(ring& r, param_region<P>& params, const char* name) : loop_(r, params), ring_fd_(r.fd()) {
    dev_ = ::open("/dev/iouloop", O_RDWR | O_CLOEXEC);
    if (dev_ < 0)
      throw error(errno, errno == ENOENT ? "no /dev/iouloop: load kernel/kmod's iouloop_kmod.ko (insmod)"
                                         : "cannot open /dev/iouloop");
    iouloop_kmod_attach a{};
    a.ring_fd = static_cast<__u32>(ring_fd_);
    a.params_bytes = sizeof(params_type);
    a.region_bytes = static_cast<__u32>(policy_traits<P>::region_bytes);
    a.params_uaddr = reinterpret_cast<__u64>(params.data());
    a.fingerprint = fingerprint();
    if (std::strlen(name) >= sizeof(a.policy)) {
      ::close(dev_);
      throw error(EINVAL, std::string("policy name '") + name + "' is longer than IOULOOP_KMOD_NAME_MAX - 1");
    }
    std::strcpy(a.policy, name);
    if (::ioctl(dev_, IOULOOP_KMOD_IOC_ATTACH, &a) < 0) {
      const int e = errno;
      ::close(dev_);
      const std::string n = std::string("'") + name + "'";
      switch (e) {
        case EBUSY:
          throw error(e, "the ring has a loop attached already (BPF or native)");
        case ENOENT:
          throw error(e,
                      "iouloop_kmod.ko has no policy " + n +
                          ": the module loaded was built from a list without it; add it to the list "
                          "(kernel/kmod/native_policies.hpp, or your workspace's own: kernel/kmod/defs.bzl), rebuild "
                          "the module (kernel/kmod/build.sh, or your iouloop_kernel_module target) and load that one");
        case ESTALE:
          throw error(e, "iouloop_kmod.ko's policy " + n +
                             " was built from other sources than this program (another fingerprint of the list, "
                             "its policies, the library and the module; or other params or region sizes): rebuild "
                             "the module (kernel/kmod/build.sh, or your iouloop_kernel_module target) from this "
                             "program's tree");
        default:
          throw error(e, "iouloop_kmod refused to attach policy " + n + " to the ring");
      }
    }
  }

  // A BPF program handle (NAME::programs::PROG) runs on bpf_engine, not here.
  template <class Handle>
    requires requires { Handle::image(); }
  kernel_engine(ring& r, param_region<P>& params, Handle) : kernel_engine(r, params, refused<Handle>()) {}
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
  static constexpr const char* listed_name() {
    static_assert(has_native_step<P>,
                  "kernel_engine<P>: P is not in iouloop_kmod.ko's list: add it to kernel/kmod/native_policies.hpp "
                  "(or to your workspace's own list: kernel/kmod/defs.bzl), rebuild the module, and put "
                  "IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES) in this program");
    if constexpr (has_native_step<P>)
      return native_step_of<P>::name;
    else
      return "";
  }
  // What the list this program includes was built from: the module
  // compares it with its own.
  static constexpr unsigned long long fingerprint() {
    if constexpr (has_native_step<P>)
      return native_step_of<P>::fingerprint;
    else
      return 0;  // not in the list: the module refuses the name (ENOENT) or the fingerprint (ESTALE)
  }
  template <class Handle>
  static constexpr const char* refused() {
    static_assert(sizeof(Handle) == 0,
                  "kernel_engine runs the policy compiled into iouloop_kmod.ko, not a BPF program: pass the BPF "
                  "handle to bpf_engine, or drop it and list the policy in kernel/kmod/native_policies.hpp");
    return "";
  }

  attached_loop<P> loop_;
  int ring_fd_;
  int dev_ = -1;
  bool attached_ = true;
};

}  // namespace iouloop
