// iouloop/engine/privileges.hpp — what this process may do with BPF and
// io_uring memory, and what to do when it may not.
//
//   iouloop::privileges p = iouloop::privileges::now();
//   if (std::string why = p.bpf_engine_problem(); !why.empty()) ...  // names the capability
//
// The facts, from Debian's Linux 7.2.13 source (docs/deploying.md has the
// table):
//  - loading the object's BTF needs CAP_BPF (kernel/bpf/syscall.c
//    bpf_btf_load); creating the io_uring_bpf_ops struct_ops map needs
//    CAP_BPF (map_create: BPF_MAP_TYPE_STRUCT_OPS is a privileged map type);
//  - loading the struct_ops program needs CAP_BPF and CAP_PERFMON
//    (bpf_prog_load: every type but socket filters and cgroup skb needs
//    CAP_BPF; is_perfmon_prog_type lists BPF_PROG_TYPE_STRUCT_OPS);
//  - attaching (BPF_LINK_CREATE of a struct_ops map,
//    bpf_struct_ops_link_create) checks no capability, only the map fd; the
//    ring is looked up by ring_fd in the attaching process's fd table
//    (io_uring/bpf-ops.c bpf_io_reg);
//  - CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (kernel/bpf/token.c
//    bpf_ns_capable); all of these count only in the initial user namespace
//    (bpf_token_capable uses init_user_ns without a BPF token);
//  - kernel.unprivileged_bpf_disabled (1 or 2) refuses map and program
//    creation to processes without CAP_BPF: it changes nothing here, since
//    the struct_ops pieces need CAP_BPF anyway;
//  - lockdown (integrity or confidentiality) only withdraws helpers such as
//    bpf_probe_read_kernel (kernel/bpf/helpers.c bpf_base_func_proto,
//    LOCKDOWN_BPF_READ_KERNEL), which no iouloop step calls: it does not
//    stop the engine;
//  - the param region (IORING_REGISTER_MEM_REGION) pins user pages charged
//    to RLIMIT_MEMLOCK of the ring's creator unless that creator had
//    CAP_IPC_LOCK (io_uring/io_uring.c io_uring_create sets ctx->user;
//    io_uring/memmap.c io_create_region -> rsrc.c __io_account_mem, -ENOMEM
//    past the limit); the rings themselves are not charged.
#pragma once

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace iouloop {

namespace caps {
// Capability numbers (include/uapi/linux/capability.h); bookworm's headers
// lack the newer ones.
inline constexpr int sys_admin = 21, sys_ptrace = 19, ipc_lock = 14, net_admin = 12, perfmon = 38, bpf = 39;

// The raw capget/capset ABI (version 3: two 32-bit words per set).
struct header {
  unsigned int version;
  int pid;
};
struct data {
  unsigned int effective, permitted, inheritable;
};
inline constexpr unsigned int version_3 = 0x20080522;

// This thread's effective set as a 64-bit mask, or false if capget fails.
inline bool effective(unsigned long long& mask) {
  header h{version_3, 0};
  data d[2]{};
  if (::syscall(SYS_capget, &h, d) != 0) return false;
  mask = (static_cast<unsigned long long>(d[1].effective) << 32) | d[0].effective;
  return true;
}
inline const char* name(int cap) {
  switch (cap) {
    case sys_admin:
      return "CAP_SYS_ADMIN";
    case sys_ptrace:
      return "CAP_SYS_PTRACE";
    case ipc_lock:
      return "CAP_IPC_LOCK";
    case net_admin:
      return "CAP_NET_ADMIN";
    case perfmon:
      return "CAP_PERFMON";
    case bpf:
      return "CAP_BPF";
  }
  return "CAP_?";
}
}  // namespace caps

struct privileges {
  bool known = false;                  // capget worked
  unsigned long long effective = 0;    // effective capability mask
  bool init_user_ns = true;            // capabilities count for BPF only in the initial user namespace
  int unprivileged_bpf_disabled = -1;  // sysctl kernel.unprivileged_bpf_disabled; -1 if unreadable
  std::string lockdown;                // "none", "integrity", "confidentiality", or "unknown"
  long long memlock_limit = -1;        // RLIMIT_MEMLOCK (soft) in bytes; -1 = unlimited

  bool has(int cap) const { return (effective >> cap) & 1; }
  // CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (bpf_ns_capable).
  bool cap_bpf() const { return has(caps::bpf) || has(caps::sys_admin); }
  bool cap_perfmon() const { return has(caps::perfmon) || has(caps::sys_admin); }
  // Param-region pages are not charged to RLIMIT_MEMLOCK for a ring whose
  // creator has CAP_IPC_LOCK.
  bool memlock_exempt() const { return has(caps::ipc_lock) && init_user_ns; }

  // What stops this process from loading and attaching a loop program, naming
  // the capability and what to do; "" if nothing does (as far as capabilities
  // tell: an LSM may still refuse).
  std::string bpf_engine_problem() const {
    if (!known) return {};  // cannot tell: let the kernel say
    std::string missing;
    if (!cap_bpf())
      missing = "CAP_BPF (BTF load and the struct_ops map: kernel/bpf/syscall.c bpf_btf_load, map_create)";
    if (!cap_perfmon()) {
      if (!missing.empty()) missing += " and ";
      missing += "CAP_PERFMON (a struct_ops program: bpf_prog_load, is_perfmon_prog_type)";
    }
    if (missing.empty() && init_user_ns) return {};
    std::string why = missing.empty()
                          ? "this process's capabilities are those of a user namespace, and BPF counts only "
                            "CAP_BPF and CAP_PERFMON held in the initial one (kernel/bpf/token.c bpf_token_capable)"
                          : "this process lacks " + missing + "; CAP_SYS_ADMIN would stand in for both";
    return why +
           ": run as root, grant CAP_BPF and CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep on the binary, or "
           "AmbientCapabilities= in its systemd unit), or have a privileged loader attach the policy to "
           "this process's ring (docs/deploying.md, examples/loader)";
  }

  // The effective capabilities that matter here, as "CAP_BPF CAP_PERFMON".
  std::string relevant() const {
    std::string s;
    for (int c : {caps::bpf, caps::perfmon, caps::sys_admin, caps::net_admin, caps::sys_ptrace, caps::ipc_lock})
      if (has(c)) s += std::string(s.empty() ? "" : " ") + caps::name(c);
    return s.empty() ? "none" : s;
  }

  static privileges now() {
    privileges p;
    p.known = caps::effective(p.effective);
    // In the initial user namespace the uid map is the identity over all ids.
    if (std::FILE* f = std::fopen("/proc/self/uid_map", "r")) {
      unsigned long long inside = 1, outside = 1, count = 0;
      if (std::fscanf(f, "%llu %llu %llu", &inside, &outside, &count) == 3)
        p.init_user_ns = inside == 0 && outside == 0 && count == 4294967295ull;
      std::fclose(f);
    }
    if (std::FILE* f = std::fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "r")) {
      if (std::fscanf(f, "%d", &p.unprivileged_bpf_disabled) != 1) p.unprivileged_bpf_disabled = -1;
      std::fclose(f);
    }
    // securityfs shows "none [integrity] confidentiality": the bracketed one.
    p.lockdown = "unknown";
    std::ifstream lf("/sys/kernel/security/lockdown");
    std::string line;
    if (std::getline(lf, line)) {
      auto a = line.find('['), b = line.find(']');
      if (a != std::string::npos && b != std::string::npos && b > a) p.lockdown = line.substr(a + 1, b - a - 1);
    }
    struct rlimit rl;
    if (::getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
      p.memlock_limit = static_cast<long long>(rl.rlim_cur);
    return p;
  }
};

}  // namespace iouloop

namespace iouloop {
// The named error for IORING_REGISTER_MEM_REGION's -ENOMEM: the pinned
// pages went past RLIMIT_MEMLOCK (io_uring/rsrc.c __io_account_mem).
inline std::string param_region_memlock_problem(unsigned long bytes) {
  privileges p = privileges::now();
  return "IORING_REGISTER_MEM_REGION of the " + std::to_string(bytes) +
         "-byte param region failed: its pinned pages are charged to RLIMIT_MEMLOCK (now " +
         (p.memlock_limit < 0 ? std::string("unlimited") : std::to_string(p.memlock_limit) + " bytes") +
         ", shared by every ring and registered buffer of this user) and went past it: raise it (ulimit -l, "
         "LimitMEMLOCK= in a systemd unit, /etc/security/limits.conf), release other pinned memory, or create "
         "the ring from a process with CAP_IPC_LOCK";
}
}  // namespace iouloop
