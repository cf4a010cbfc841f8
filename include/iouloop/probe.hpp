// iouloop/probe.hpp — what the running kernel supports, as data.
//
// Each answer comes from asking the kernel (a throwaway ring, a register
// call, a trivial BPF load) or reading its BTF (/sys/kernel/btf/vmlinux),
// never from a version number. tools/probe.cc prints it (text or JSON); the
// engines use it to pick a default and to explain a refusal.
#pragma once

#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "iouloop/abi.hpp"
#include "iouloop/engine/privileges.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/ring.hpp"
#include "iouloop/sqe.hpp"

namespace iouloop {

struct probe_result {
  std::string kernel;             // uname -r
  int io_uring_disabled = -1;     // sysctl kernel.io_uring_disabled, -1 if absent
  bool io_uring = false;          // a ring could be created
  std::string io_uring_error;     // why not
  bool defer_taskrun = false;     // IORING_SETUP_DEFER_TASKRUN
  bool no_sqarray = false;        // IORING_SETUP_NO_SQARRAY
  bool sq_rewind = false;         // IORING_SETUP_SQ_REWIND
  bool mem_region = false;        // IORING_REGISTER_MEM_REGION (user memory)
  bool recv_total_limit = false;  // a multishot recv ends at a byte total (sqe_ref::total_limit; Linux 6.17+)
  bool btf = false;               // /sys/kernel/btf/vmlinux readable
  bool bpf_ops = false;           // struct io_uring_bpf_ops in the kernel BTF
  bool kfunc_submit_sqes = false;
  bool kfunc_get_region = false;
  bool bpf_load = false;  // this process may load a BPF program (a socket filter: the least there is)
  std::string bpf_load_error;
  privileges privs;  // capabilities, unprivileged_bpf_disabled, lockdown, RLIMIT_MEMLOCK

  // The BPF engine can run here.
  bool bpf_engine() const {
    return io_uring && defer_taskrun && mem_region && bpf_ops && kfunc_submit_sqes && kfunc_get_region && bpf_load &&
           privs.bpf_engine_problem().empty();
  }
  // Why the BPF engine cannot run, naming the missing piece; "" if it can.
  std::string bpf_engine_problem() const {
    if (!io_uring) return "io_uring is not available: " + io_uring_error;
    if (!defer_taskrun) return "the kernel lacks IORING_SETUP_DEFER_TASKRUN (Linux 6.1+)";
    if (!btf) return "no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)";
    if (!bpf_ops)
      return "the kernel lacks io_uring_bpf_ops (CONFIG_IO_URING_BPF_OPS, Linux 7.1+; see kernel/README.md)";
    if (!kfunc_submit_sqes || !kfunc_get_region)
      return "the kernel BTF lacks the kfuncs bpf_io_uring_submit_sqes / bpf_io_uring_get_region";
    if (!mem_region) return "the kernel lacks IORING_REGISTER_MEM_REGION (Linux 6.13+)";
    // A socket filter may load without CAP_BPF (unprivileged_bpf_disabled=0):
    // the capabilities the loop program needs are checked on their own.
    if (std::string why = privs.bpf_engine_problem(); !why.empty()) return why;
    if (!bpf_load) return "this process may not load BPF programs: " + bpf_load_error;
    return {};
  }
};

namespace detail {

// Names of the STRUCT and FUNC types in a raw BTF blob. Only what the probe
// needs: kinds are walked by their documented sizes (include/uapi/linux/btf.h).
struct btf_names {
  std::vector<std::string> structs, funcs;
  bool ok = false;
};
inline btf_names read_btf_names(const std::string& path) {
  btf_names out;
  std::ifstream f(path, std::ios::binary);
  if (!f) return out;
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  struct header {
    u16 magic;
    u8 version, flags;
    u32 hdr_len, type_off, type_len, str_off, str_len;
  } h;
  if (raw.size() < sizeof h) return out;
  std::memcpy(&h, raw.data(), sizeof h);
  if (h.magic != 0xeB9F || usize(h.hdr_len) + h.str_off + h.str_len > raw.size() ||
      usize(h.hdr_len) + h.type_off + h.type_len > raw.size())
    return out;
  const char* types = raw.data() + h.hdr_len + h.type_off;
  const char* strings = raw.data() + h.hdr_len + h.str_off;
  usize pos = 0;
  while (pos + 12 <= h.type_len) {
    u32 name_off, info;
    std::memcpy(&name_off, types + pos, 4);
    std::memcpy(&info, types + pos + 4, 4);
    u32 kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
    pos += 12;
    usize extra;
    switch (kind) {
      case 1:
      case 14:
      case 17:
        extra = 4;
        break;  // INT, VAR, DECL_TAG
      case 3:
        extra = 12;
        break;  // ARRAY
      case 4:
      case 5:
      case 15:
      case 19:
        extra = 12u * vlen;
        break;  // STRUCT, UNION, DATASEC, ENUM64
      case 6:
      case 13:
        extra = 8u * vlen;
        break;  // ENUM, FUNC_PROTO
      case 2:
      case 7:
      case 8:
      case 9:
      case 10:
      case 11:
      case 12:
      case 16:
      case 18:
        extra = 0;
        break;
      default:
        return out;  // a kind newer than this reader
    }
    if (name_off < h.str_len && (kind == 4 || kind == 12)) {
      std::string name(strings + name_off);
      (kind == 4 ? out.structs : out.funcs).push_back(std::move(name));
    }
    pos += extra;
  }
  out.ok = true;
  return out;
}

inline bool contains(const std::vector<std::string>& v, const char* s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

inline int try_ring(u32 flags) {
  io_uring_params p{};
  p.flags = flags;
  int fd = sys::io_uring_setup(4, &p);
  if (fd >= 0) ::close(fd);
  return fd < 0 ? fd : 0;
}

// Asks the kernel whether a multishot recv takes a total byte limit
// (sqe->optlen, read by io_recvmsg_prep since Linux 6.17). Older kernels
// read the same field as file_index there and refuse the recv with -EINVAL,
// before any buffer is looked up; a kernel with the limit gets past the
// prep and ends the recv -ENOBUFS (no buffer group 0xfff1 is registered) once
// the byte written into the socket pair is there. A throwaway ring and socket
// pair; false when either cannot be had, or no answer came.
inline bool ask_recv_total_limit() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
  unique_fd a(sv[0]), b(sv[1]);
  if (::write(b.get(), "x", 1) != 1) return false;
  try {
    ring r;
    sq_ring sq(r.rings(), r.sqes(), r.layout());
    abi::sqe* s = sq.next();
    if (!s) return false;
    prep_recv_multishot(*s, a.get(), buf_group{0xfff1}, 0, udata{}).total_limit(1);
    // At most 2 s (io_uring_getevents_arg's timeout): a kernel that kept
    // the recv waiting would get the answer "no", the safe one.
    const abi::kernel_timespec limit{2, 0};
    const abi::getevents_arg arg{0, 0, 0, reinterpret_cast<u64>(&limit)};
    const int n =
        sys::io_uring_enter(r.fd(), sq.flush(), 1, abi::enter::getevents | abi::enter::ext_arg, &arg, sizeof arg);
    cq_ring cq(r.rings(), r.layout());
    return n == 1 && cq.ready() != 0 && cq.peek().res() != -EINVAL;
  } catch (const error&) {
    return false;
  }
}

}  // namespace detail

// The kernel ends a multishot recv at the byte total sqe_ref::total_limit
// sets (Linux 6.17+). Asked once per process; hosts pass the answer to a
// policy that bounds its recvs, which must not set the limit where it is
// false: such a recv fails with -EINVAL there.
inline bool kernel_has_recv_total_limit() {
  static const bool yes = detail::ask_recv_total_limit();
  return yes;
}

inline probe_result probe(const std::string& btf_path = "/sys/kernel/btf/vmlinux") {
  probe_result r;
  r.privs = privileges::now();
  struct utsname u;
  if (uname(&u) == 0) r.kernel = u.release;
  if (std::FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "r")) {
    if (std::fscanf(f, "%d", &r.io_uring_disabled) != 1) r.io_uring_disabled = -1;
    std::fclose(f);
  }

  int e = detail::try_ring(0);
  r.io_uring = e == 0;
  if (e == -ENOSYS)
    r.io_uring_error = "the kernel has no io_uring (CONFIG_IO_URING)";
  else if (e == -EPERM)
    r.io_uring_error = "io_uring is disabled for this process (sysctl kernel.io_uring_disabled=" +
                       std::to_string(r.io_uring_disabled) + "; 1 allows only the io_uring_group, 2 nobody)";
  else if (e < 0)
    r.io_uring_error = std::strerror(-e);
  if (r.io_uring) {
    const u32 base = abi::setup::single_issuer | abi::setup::defer_taskrun;
    r.defer_taskrun = detail::try_ring(base) == 0;
    r.no_sqarray = detail::try_ring(base | abi::setup::no_sqarray) == 0;
    r.sq_rewind = detail::try_ring(base | abi::setup::no_sqarray | abi::setup::sq_rewind) == 0;
    // A one-page user region on a throwaway ring.
    io_uring_params p{};
    p.flags = r.defer_taskrun ? base : 0;
    int fd = sys::io_uring_setup(4, &p);
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fd >= 0 && page != MAP_FAILED) {
      abi::region_desc rd{};
      rd.user_addr = reinterpret_cast<u64>(page);
      rd.size = 4096;
      rd.flags = abi::mem_region_type_user;
      abi::mem_region_reg reg{};
      reg.region_uptr = reinterpret_cast<u64>(&rd);
      r.mem_region = sys::io_uring_register(fd, abi::register_mem_region, &reg, 1) == 0;
    }
    if (fd >= 0) ::close(fd);
    if (page != MAP_FAILED) ::munmap(page, 4096);
    r.recv_total_limit = kernel_has_recv_total_limit();
  }

  detail::btf_names names = detail::read_btf_names(btf_path);
  r.btf = names.ok;
  r.bpf_ops = detail::contains(names.structs, "io_uring_bpf_ops");
  r.kfunc_submit_sqes = detail::contains(names.funcs, "bpf_io_uring_submit_sqes");
  r.kfunc_get_region = detail::contains(names.funcs, "bpf_io_uring_get_region");

  // "r0 = 0; exit" as a socket filter: the least a BPF load can be.
  struct bpf_insn prog[2] = {};
  prog[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  prog[0].dst_reg = BPF_REG_0;
  prog[1].code = BPF_JMP | BPF_EXIT;
  static const char license[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = 2;
  attr.insns = reinterpret_cast<u64>(prog);
  attr.license = reinterpret_cast<u64>(license);
  long fd = ::syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd >= 0) {
    r.bpf_load = true;
    ::close(static_cast<int>(fd));
  } else {
    r.bpf_load_error =
        errno == EPERM
            ? "EPERM (kernel.unprivileged_bpf_disabled=" + std::to_string(r.privs.unprivileged_bpf_disabled) +
                  " refuses BPF to processes without CAP_BPF, bpf_prog_load)"
            : std::string(std::strerror(errno));
  }
  return r;
}

inline std::string to_json(const probe_result& r) {
  auto b = [](bool v) { return v ? "true" : "false"; };
  auto q = [](const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') o += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) o += c;
    }
    return o + "\"";
  };
  std::string s = "{";
  s += "\"kernel\": " + q(r.kernel);
  s += ", \"io_uring_disabled\": " + std::to_string(r.io_uring_disabled);
  s += std::string(", \"io_uring\": ") + b(r.io_uring);
  s += std::string(", \"defer_taskrun\": ") + b(r.defer_taskrun);
  s += std::string(", \"no_sqarray\": ") + b(r.no_sqarray);
  s += std::string(", \"sq_rewind\": ") + b(r.sq_rewind);
  s += std::string(", \"mem_region\": ") + b(r.mem_region);
  s += std::string(", \"recv_total_limit\": ") + b(r.recv_total_limit);
  s += std::string(", \"btf\": ") + b(r.btf);
  s += std::string(", \"io_uring_bpf_ops\": ") + b(r.bpf_ops);
  s += std::string(", \"kfunc_submit_sqes\": ") + b(r.kfunc_submit_sqes);
  s += std::string(", \"kfunc_get_region\": ") + b(r.kfunc_get_region);
  s += std::string(", \"bpf_load\": ") + b(r.bpf_load);
  s += std::string(", \"bpf_engine\": ") + b(r.bpf_engine());
  s += ", \"bpf_engine_problem\": " + q(r.bpf_engine_problem());
  // Privilege facts: effective capabilities that matter to BPF and io_uring
  // memory, whether they count (initial user namespace), the sysctl,
  // lockdown, RLIMIT_MEMLOCK (-1: unlimited).
  const privileges& p = r.privs;
  s += ", \"privileges\": {\"known\": " + std::string(b(p.known));
  s += std::string(", \"cap_bpf\": ") + b(p.has(caps::bpf));
  s += std::string(", \"cap_perfmon\": ") + b(p.has(caps::perfmon));
  s += std::string(", \"cap_sys_admin\": ") + b(p.has(caps::sys_admin));
  s += std::string(", \"cap_net_admin\": ") + b(p.has(caps::net_admin));
  s += std::string(", \"cap_sys_ptrace\": ") + b(p.has(caps::sys_ptrace));  // a loader taking rings (examples/loader)
  s += std::string(", \"cap_ipc_lock\": ") + b(p.has(caps::ipc_lock));
  s += std::string(", \"init_user_ns\": ") + b(p.init_user_ns);
  s += ", \"unprivileged_bpf_disabled\": " + std::to_string(p.unprivileged_bpf_disabled);
  s += ", \"lockdown\": " + q(p.lockdown);
  s += ", \"memlock_limit\": " + std::to_string(p.memlock_limit);
  s += ", \"bpf_privilege_problem\": " + q(p.bpf_engine_problem());
  s += "}";
  return s + "}";
}

inline std::string to_text(const probe_result& r) {
  auto line = [](const char* what, bool v, const std::string& note = {}) {
    std::string s = std::string(v ? "  yes  " : "  no   ") + what;
    if (!note.empty()) s += "  (" + note + ")";
    return s + "\n";
  };
  std::string s = "kernel " + r.kernel + "\n";
  s += line("io_uring allowed", r.io_uring,
            r.io_uring ? "kernel.io_uring_disabled=" + std::to_string(r.io_uring_disabled) : r.io_uring_error);
  s += line("IORING_SETUP_DEFER_TASKRUN", r.defer_taskrun);
  s += line("IORING_SETUP_NO_SQARRAY", r.no_sqarray);
  s += line("IORING_SETUP_SQ_REWIND", r.sq_rewind);
  s += line("IORING_REGISTER_MEM_REGION", r.mem_region);
  s += line("multishot recv total limit (sqe->optlen)", r.recv_total_limit);
  s += line("kernel BTF", r.btf);
  s += line("struct io_uring_bpf_ops", r.bpf_ops);
  s += line("kfunc bpf_io_uring_submit_sqes", r.kfunc_submit_sqes);
  s += line("kfunc bpf_io_uring_get_region", r.kfunc_get_region);
  s += line("may load BPF", r.bpf_load, r.bpf_load_error);
  const privileges& p = r.privs;
  s += line("capabilities for the loop program (CAP_BPF, CAP_PERFMON)", p.bpf_engine_problem().empty(),
            "effective: " + p.relevant() + (p.init_user_ns ? "" : ", in a user namespace"));
  s += "  kernel.unprivileged_bpf_disabled=" + std::to_string(p.unprivileged_bpf_disabled) + ", lockdown " +
       p.lockdown + ", RLIMIT_MEMLOCK " +
       (p.memlock_limit < 0 ? std::string("unlimited") : std::to_string(p.memlock_limit) + " bytes") +
       (p.memlock_exempt() ? " (CAP_IPC_LOCK: param regions not charged)" : "") + "\n";
  s += r.bpf_engine() ? "BPF engine: available\n" : "BPF engine: unavailable: " + r.bpf_engine_problem() + "\n";
  return s;
}

}  // namespace iouloop
