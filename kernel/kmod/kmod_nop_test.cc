// In the VM, with iouloop_kmod.ko loaded: the module's compiled-in NOP steps
// attached to rings through /dev/iouloop: the C stand-in
// ("nop_c") by raw ioctls, and nop::policy compiled as kernel C++ ("nop")
// through iouloop::kernel_engine. Checks: the NOP chain at depth 1, 8, 32 runs to
// the end in one io_uring_enter; a second attach says -EBUSY; detach, and detach again (-ENOENT); a ring without
// DEFER_TASKRUN is refused (-EOPNOTSUPP); closing an attached ring ejects it (the next ring attaches).
//
//   kmod_nop_test          the checks above
//   kmod_nop_test block    attach a loop that waits forever (depth 0), print
//                          "blocking", run it; SIGUSR1 ends it (for the
//                          unload-while-running test in kmod_unload_test)
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "kernel/kmod/native_policies.hpp"
#include "iouloop/engine/attached.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/engine/kernel.hpp"
#include "iouloop/kmod_uapi.h"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

namespace {
int failures = 0;
void check(bool ok, const char* what, long got) {
  std::printf("kmod_nop_test: %s: %s (got %ld)\n", ok ? "ok" : "FAIL", what, got);
  if (!ok) failures++;
}
int dev() {
  int fd = open("/dev/iouloop", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::printf("kmod_nop_test: FAIL: open /dev/iouloop: %s\n", std::strerror(errno));
    _exit(1);
  }
  return fd;
}
// Attaches the module's policy `name` with the sizes and the list's
// fingerprint given (the C stand-in "nop_c" by default, which has
// nop::params; the fingerprint of the list this program was built with).
long attach(int d, int ring_fd, const char* name = "nop_c", unsigned params_bytes = sizeof(nop::params),
            unsigned region_bytes = 4096, unsigned long long fingerprint = IOULOOP_NATIVE_FINGERPRINT) {
  iouloop_kmod_attach a{};
  a.ring_fd = static_cast<__u32>(ring_fd);
  a.params_bytes = params_bytes;
  a.region_bytes = region_bytes;
  a.fingerprint = fingerprint;
  std::strncpy(a.policy, name, sizeof(a.policy) - 1);
  return ioctl(d, IOULOOP_KMOD_IOC_ATTACH, &a) < 0 ? -errno : 0;
}
long detach(int d, int ring_fd) { return ioctl(d, IOULOOP_KMOD_IOC_DETACH, ring_fd) < 0 ? -errno : 0; }
void on_usr1(int) {}
}  // namespace

int main(int argc, char** argv) {
  const int d = dev();
  check(ioctl(d, IOULOOP_KMOD_IOC_VERSION) == IOULOOP_KMOD_VERSION, "version", ioctl(d, IOULOOP_KMOD_IOC_VERSION));

  if (argc > 1 && std::strcmp(argv[1], "block") == 0) {
    struct sigaction sa{};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, nullptr);
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 0});
    iouloop::attached_loop<nop::policy> loop(ring, params);
    check(attach(d, ring.fd()) == 0, "attach (block)", 0);
    close(d);  // an open /dev/iouloop would keep the module from unloading
    std::printf("kmod_nop_test: blocking\n");
    std::fflush(stdout);
    const int ret = loop.run();
    // Unloaded while sleeping: -EINTR (the signal) or -EFAULT (the ops gone).
    check(ret == -EINTR || ret == -EFAULT, "the blocked run ends with -EINTR or -EFAULT", ret);
    return failures ? 1 : 0;
  }

  for (unsigned depth : {1u, 8u, 32u}) {
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 1000, .depth = depth});
    iouloop::attached_loop<nop::policy> loop(ring, params);
    check(attach(d, ring.fd()) == 0, "attach", 0);
    const int ret = loop.run();
    check(ret == 0 && params->completed == 1000 && params->errors == 0 && params->submitted == 1000,
          depth == 1   ? "NOP chain, depth 1: 1000 done"
          : depth == 8 ? "NOP chain, depth 8: 1000 done"
                       : "NOP chain, depth 32: 1000 done",
          ret < 0 ? ret : params->completed);
    check(attach(d, ring.fd()) == -EBUSY, "second attach: -EBUSY", attach(d, ring.fd()));
    check(detach(d, ring.fd()) == 0, "detach", 0);
    check(detach(d, ring.fd()) == -ENOENT, "detach again: -ENOENT", detach(d, ring.fd()));
    check(attach(d, ring.fd()) == 0, "attach after detach", 0);
    check(detach(d, ring.fd()) == 0, "detach", 0);
  }
  for (unsigned depth : {1u, 8u, 32u}) {  // nop::policy compiled as kernel code, through iouloop::kernel_engine
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 1000, .depth = depth});
    iouloop::kernel_engine<nop::policy> e(ring, params);
    const int ret = e.run();
    check(ret == 0 && params->completed == 1000 && params->errors == 0 && params->submitted == 1000,
          depth == 1   ? "kernel_engine, C++ nop::policy in the kernel: depth 1, 1000 done"
          : depth == 8 ? "kernel_engine, C++ nop::policy in the kernel: depth 8, 1000 done"
                       : "kernel_engine, C++ nop::policy in the kernel: depth 32, 1000 done",
          ret < 0 ? ret : params->completed);
    check(e.exit().error == 0, "kernel_engine: the exit record says no error", e.exit().error);
    e.detach();
    check(e.run() == -EFAULT, "kernel_engine: run after detach: -EFAULT", e.run());
  }
  try {
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 1});
    iouloop::kernel_engine<nop::policy> e1(ring, params, "nop_c");
    iouloop::kernel_engine<nop::policy> e2(ring, params, "nop_c");
    check(false, "kernel_engine: a second engine on the ring throws", 0);
  } catch (const iouloop::error& e) {
    check(e.code() == EBUSY, "kernel_engine: a second engine on the ring throws EBUSY", e.code());
  }
  {  // a BPF loop on a natively attached ring: the kernel's io_install_bpf sees bpf_ops and says -EBUSY
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 1});
    iouloop::kernel_engine<nop::policy> e(ring, params);
    try {
      iouloop::bpf_engine<nop::policy> b(ring, params, nop_bpf::programs::nop{});
      check(false, "BPF attach on a natively attached ring throws", 0);
    } catch (const iouloop::error& x) {
      check(x.code() == EBUSY, "BPF attach on a natively attached ring: EBUSY", x.code());
    }
    const int ret = e.run();
    check(ret == 0 && params->completed == 10, "the native loop still runs after the refused BPF attach",
          ret < 0 ? ret : params->completed);
  }
  {  // the module checks the name and the sizes the host was built with
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 1});
    iouloop::attached_loop<nop::policy> loop(ring, params);
    check(attach(d, ring.fd(), "no_such_policy") == -ENOENT, "unknown policy name: -ENOENT",
          attach(d, ring.fd(), "no_such_policy"));
    check(attach(d, ring.fd(), "nop", sizeof(nop::params) + 4) == -ESTALE, "params size differs: -ESTALE",
          attach(d, ring.fd(), "nop", sizeof(nop::params) + 4));
    check(attach(d, ring.fd(), "nop", sizeof(nop::params), 8192) == -ESTALE, "region size differs: -ESTALE",
          attach(d, ring.fd(), "nop", sizeof(nop::params), 8192));
    check(attach(d, ring.fd(), "cp", sizeof(nop::params)) == -ESTALE, "another policy's name: -ESTALE",
          attach(d, ring.fd(), "cp", sizeof(nop::params)));
    // A module built from other sources, with the same sizes (what the size
    // check alone let through: a stale module ran with the old layout).
    const unsigned long long other = IOULOOP_NATIVE_FINGERPRINT ^ 1;
    check(attach(d, ring.fd(), "nop", sizeof(nop::params), 4096, other) == -ESTALE,
          "the same sizes, another fingerprint: -ESTALE",
          attach(d, ring.fd(), "nop", sizeof(nop::params), 4096, other));
    check(attach(d, ring.fd(), "nop_c", sizeof(nop::params), 4096, 0) == -ESTALE,
          "no fingerprint (0), the C stand-in: -ESTALE", attach(d, ring.fd(), "nop_c", sizeof(nop::params), 4096, 0));
    try {
      iouloop::kernel_engine<nop::policy> e(ring, params, "no_such_policy");
      check(false, "kernel_engine with an unknown name throws", 0);
    } catch (const iouloop::error& x) {
      check(x.code() == ENOENT && std::strstr(x.what(), "native_policies.hpp"),
            "kernel_engine with an unknown name: ENOENT, says where to add it", x.code());
    }
    check(attach(d, ring.fd(), "nop") == 0, "the right name and sizes attach", 0);
    check(loop.run() == 0 && params->completed == 10, "and run", params->completed);
  }
  {  // the native build of a policy handed to the BPF loader: not a BPF object, refused by name
    std::FILE* f = std::fopen("/lib/modules-iouloop/iouloop_kmod.ko", "rb");
    check(f != nullptr, "the module's file is in the guest", 0);
    if (f) {
      std::vector<unsigned char> ko;
      unsigned char buf[65536];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) ko.insert(ko.end(), buf, buf + n);
      std::fclose(f);
      iouloop::ring ring;
      iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 1});
      try {
        iouloop::bpf_engine<nop::policy> b(ring, params, iouloop::bpf_image{ko.data(), ko.size(), "iouloop_kmod.ko"},
                                           "nop");
        check(false, "the BPF loader refuses the native build (iouloop_kmod.ko)", 0);
      } catch (const iouloop::error& x) {
        std::printf("kmod_nop_test: the BPF engine says: %s\n", x.what());
        check(std::strstr(x.what(), "iouloop_kmod.ko") != nullptr,
              "the BPF loader refuses the native build (iouloop_kmod.ko), naming it", x.code());
      }
    }
  }
  {
    io_uring_params p{};
    const int fd = iouloop::sys::io_uring_setup(8, &p);
    check(attach(d, fd) == -EOPNOTSUPP, "ring without DEFER_TASKRUN: -EOPNOTSUPP", attach(d, fd));
    close(fd);
    check(attach(d, 0) == -EOPNOTSUPP || attach(d, 0) == -EBADF, "fd 0 is no ring: refused", attach(d, 0));
  }
  for (int i = 0; i < 3; i++) {  // attached rings closed: ejected by the kernel, freed by the module
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{.total = 10, .depth = 4});
    iouloop::attached_loop<nop::policy> loop(ring, params);
    check(attach(d, ring.fd()) == 0, "attach, then close the ring", 0);
  }
  return failures ? 1 : 0;
}
