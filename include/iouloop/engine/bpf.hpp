// iouloop/engine/bpf.hpp — runs a policy as an io_uring_bpf_ops program:
// the kernel calls the step inside io_uring_enter, with no return to user
// space between steps.
//
//   iouloop::ring r;
//   iouloop::param_region<nop::policy> params({.total = 1000, .depth = 32});
//   iouloop::bpf_engine<nop::policy> e(r, params, nop_bpf::image(), "nop");
//   int ret = e.run();            // 0 once the step returns STOP
//
// Lifecycle, as in a libbpf skeleton, behind RAII: open the embedded object,
// fill in the ring layout (rodata) and ring_fd, keep only the chosen
// program, load (the verifier's log goes into the error on failure),
// register the param region, attach. Destruction detaches.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "iouloop/bpf/shared.hpp"
#include "iouloop/engine/attached.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/param_region.hpp"
#include "iouloop/engine/privileges.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/policy.hpp"
#include "iouloop/probe.hpp"

namespace iouloop {

// A BPF object's bytes, as embedded by the iouloop_bpf_program Bazel rule.
struct bpf_image {
  const unsigned char* data;
  usize size;
  const char* name;  // for messages
};

namespace detail {
// libbpf reports through one global print callback; collect what it says
// during a call so that errors can carry it (the verifier's log included).
inline thread_local std::string* libbpf_capture = nullptr;
inline int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(nullptr, 0, fmt, again);
  va_end(again);
  if (n <= 0) return 0;
  std::string text(usize(n) + 1, '\0');  // a verifier log comes in one piece
  std::vsnprintf(text.data(), text.size(), fmt, args);
  text.resize(usize(n));
  if (libbpf_capture) {
    *libbpf_capture += text;
  } else if (std::getenv("IOULOOP_LIBBPF_VERBOSE")) {
    std::fputs(text.c_str(), stderr);
  }
  return 0;
}
// A verifier log can run to megabytes; its reason is at the end.
inline std::string log_excerpt(const std::string& log, usize head = 2048, usize tail = 8192) {
  if (log.size() <= head + tail) return log;
  return log.substr(0, head) + "\n  [... " + std::to_string(log.size() - head - tail) + " bytes of the log left out ...]\n" +
         log.substr(log.size() - tail);
}
class libbpf_log {
 public:
  libbpf_log() {
    libbpf_set_print(libbpf_print);
    prev_ = std::exchange(libbpf_capture, &text_);
  }
  ~libbpf_log() { libbpf_capture = prev_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string* prev_;
};
}  // namespace detail

// What the kernel says of a loaded program.
struct bpf_program_stats {
  u32 insns;           // instructions in the object (as compiled)
  u32 xlated_insns;    // after the verifier's rewrites
  u32 verified_insns;  // instructions the verifier processed
  u32 jited_bytes;
};

// An open (and later loaded) BPF object built from policies with
// IOULOOP_BPF_POLICY, prepared for one ring and one of its programs.
class bpf_object {
 public:
  bpf_object(const bpf_image& image, const std::string& program) : image_name_(image.name), program_(program) {
    detail::libbpf_log log;
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = image.name);
    obj_ = bpf_object__open_mem(image.data, image.size, &opts);
    if (!obj_) {
      int e = errno;
      throw error(e, "cannot open BPF object " + image_name_ + ": " + trim(log.text()));
    }
    map_ = bpf_object__find_map_by_name(obj_, (program + "_ops").c_str());
    if (!map_ || bpf_map__type(map_) != BPF_MAP_TYPE_STRUCT_OPS) {
      std::string have = names();
      close();
      throw error(ENOENT, "BPF object " + image_name_ + " has no policy named '" + program +
                              "' (it has: " + have + "); name it in IOULOOP_BPF_POLICY(" + program + ", ...)");
    }
    // Keep only the chosen program and its struct_ops map.
    bpf_map* m;
    bpf_object__for_each_map(m, obj_) {
      if (bpf_map__type(m) == BPF_MAP_TYPE_STRUCT_OPS && m != map_) bpf_map__set_autocreate(m, false);
    }
    std::string step = program + "_step";
    bpf_program* p;
    bpf_object__for_each_program(p, obj_) {
      bool mine = step == bpf_program__name(p);
      bpf_program__set_autoload(p, mine);
      if (mine) prog_ = p;
    }
  }
  bpf_object(const bpf_object&) = delete;
  bpf_object& operator=(const bpf_object&) = delete;
  ~bpf_object() { close(); }

  // The sizes the object was compiled with for this program's params.
  iouloop_policy_meta meta() const {
    bpf_map* m = bpf_object__find_map_by_name(obj_, ".rodata.iouloop");
    size_t size = 0;
    auto* metas = m ? static_cast<const iouloop_policy_meta*>(bpf_map__initial_value(m, &size)) : nullptr;
    for (usize i = 0; metas && i < size / sizeof(iouloop_policy_meta); ++i)
      if (program_ == metas[i].name) return metas[i];
    throw error(ENOENT, "BPF object " + image_name_ + " has no metadata for '" + program_ +
                            "': was it built with IOULOOP_BPF_POLICY?");
  }

  // Ring layout and the param region's address: what the step needs before
  // the verifier sees it (the sizes bound every ring access).
  void configure(const ring& r, u64 params_uaddr) { configure(r.layout(), r.fd(), params_uaddr); }
  // The same for a ring this process did not create (a loader attaching a
  // server's ring): `layout` as that ring's io_uring_params describe it,
  // `ring_fd` its number in this process (the kernel looks it up here at
  // attach, io_uring/bpf-ops.c bpf_io_reg), `params_uaddr` the region's
  // address in the process that registered it and runs the loop.
  void configure(const ring_layout& layout, int ring_fd, u64 params_uaddr) {
    bpf_map* rodata = bpf_object__find_map_by_name(obj_, ".rodata.iouloop_config");
    size_t size = 0;
    auto* cfg = rodata ? static_cast<iouloop_bpf_config*>(bpf_map__initial_value(rodata, &size)) : nullptr;
    if (!cfg || size < sizeof(iouloop_bpf_config))
      throw error(EINVAL, "BPF object " + image_name_ + " lacks iouloop_config (section .rodata.iouloop_config): "
                                                        "was it built with iouloop/bpf/program.hpp?");
    cfg->layout = layout;
    cfg->params_uaddr = params_uaddr;
    size_t ops_size = 0;
    auto* ops = static_cast<io_uring_bpf_ops*>(bpf_map__initial_value(map_, &ops_size));
    if (!ops || ops_size < sizeof(io_uring_bpf_ops))
      throw error(EINVAL, "struct_ops map '" + program_ + "_ops' is not an io_uring_bpf_ops");
    ops->ring_fd = static_cast<unsigned>(ring_fd);
  }

  void load() {
    detail::libbpf_log log;
    if (bpf_object__load(obj_) == 0) return;
    int e = errno;
    const std::string& said = log.text();
    // libbpf fails on whichever piece it meets first (the kfuncs or the
    // struct_ops type); the probe names what is really missing.
    probe_result pr = probe();
    if (!pr.bpf_ops || !pr.kfunc_get_region || !pr.kfunc_submit_sqes)
      throw error(ESRCH, "kernel " + pr.kernel + ": " + pr.bpf_engine_problem() +
                             ": run the policy on iouloop::userspace_engine instead; `iouloop-probe` shows "
                             "what this kernel has");
    // Without the capabilities, libbpf fails wherever it first meets the
    // kernel's refusal: -EPERM from BPF_BTF_LOAD or BPF_PROG_LOAD, or, when
    // kernel.unprivileged_bpf_disabled=0 lets its feature probes through,
    // -EOPNOTSUPP ("BTF is mandatory") after the BTF load was refused.
    privileges p = privileges::now();
    if (std::string why = p.bpf_engine_problem(); !why.empty())
      throw error(EPERM, "the kernel refused to load '" + program_ + "_step': " + why);
    if (e == EPERM)
      throw error(EPERM, "the kernel refused to load '" + program_ + "_step' although this process holds " +
                             p.relevant() + ": a security module (LSM) or seccomp filter refuses bpf(); " +
                             "libbpf said: " + trim(detail::log_excerpt(said)));
    throw error(e, "the kernel refused BPF program '" + program_ + "_step' of " + image_name_ +
                       "; the verifier said:\n" + trim(detail::log_excerpt(said)));
  }

  bpf_map* struct_ops_map() const { return map_; }
  bpf_program* program() const { return prog_; }
  ::bpf_object* get() const { return obj_; }

  bpf_program_stats stats() const {
    bpf_program_stats s{};
    if (!prog_) return s;
    s.insns = static_cast<u32>(bpf_program__insn_cnt(prog_));
    int fd = bpf_program__fd(prog_);
    if (fd < 0) return s;
    bpf_prog_info info{};
    u32 len = sizeof info;
    if (bpf_prog_get_info_by_fd(fd, &info, &len) == 0) {
      s.xlated_insns = info.xlated_prog_len / 8;
      s.verified_insns = info.verified_insns;
      s.jited_bytes = info.jited_prog_len;
    }
    return s;
  }

 private:
  std::string names() const {
    std::string s;
    bpf_map* m;
    bpf_object__for_each_map(m, obj_) {
      if (bpf_map__type(m) != BPF_MAP_TYPE_STRUCT_OPS) continue;
      std::string n = bpf_map__name(m);
      if (n.size() > 4 && n.compare(n.size() - 4, 4, "_ops") == 0) n.resize(n.size() - 4);
      if (!s.empty()) s += ", ";
      s += n;
    }
    return s.empty() ? "no policies" : s;
  }
  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.empty() ? "(libbpf said nothing)" : s;
  }
  void close() noexcept {
    if (obj_) bpf_object__close(obj_);
    obj_ = nullptr;
  }

  std::string image_name_, program_;
  ::bpf_object* obj_ = nullptr;
  bpf_map* map_ = nullptr;
  bpf_program* prog_ = nullptr;
};

// The attachment of loop ops to a ring; destroying it detaches them.
class bpf_attachment {
 public:
  explicit bpf_attachment(bpf_map* ops, const std::string& program) {
    detail::libbpf_log log;
    link_ = bpf_map__attach_struct_ops(ops);
    if (link_) return;
    int e = errno;
    if (e == EBUSY)
      throw error(EBUSY, "the ring already has loop ops attached (one io_uring_bpf_ops per ring): destroy the "
                         "other bpf_engine on this ring first");
    if (e == EOPNOTSUPP)
      throw error(EOPNOTSUPP, "the kernel refused to attach '" + program +
                                  "' to this ring: it needs IORING_SETUP_DEFER_TASKRUN and no SQPOLL or IOPOLL "
                                  "(create it with iouloop::ring_options{} defaults)");
    throw error(e, "attaching '" + program + "' failed: " + log.text());
  }
  bpf_attachment(const bpf_attachment&) = delete;
  bpf_attachment& operator=(const bpf_attachment&) = delete;
  ~bpf_attachment() {
    if (link_) bpf_link__destroy(link_);
  }

 private:
  bpf_link* link_ = nullptr;
};

template <policy P>
class bpf_engine {
 public:
  using params_type = typename policy_traits<P>::params_type;
  static constexpr const char* name = "bpf";

  bpf_engine(ring& r, param_region<P>& params, const bpf_image& image, const std::string& program)
      : ring_(r), object_(image, program) {
    // The kernel's own checks come later (at attach); say it first, plainly.
    std::string why = loop_flags_problem(r.flags());
    if (!why.empty()) throw error(EOPNOTSUPP, why);
    iouloop_policy_meta m = object_.meta();
    if (m.params_bytes != sizeof(params_type) || m.region_bytes != param_region<P>::bytes)
      throw error(EINVAL, "BPF program '" + program + "' of " + image.name + " was built for a policy with " +
                              std::to_string(m.params_bytes) + "-byte params in a " +
                              std::to_string(m.region_bytes) + "-byte region, not this one (" +
                              std::to_string(sizeof(params_type)) + " in " +
                              std::to_string(param_region<P>::bytes) + "): pass the program built from this policy");
    // Capabilities first, before anything changes the ring (no partial state).
    if (std::string why = privileges::now().bpf_engine_problem(); !why.empty())
      throw error(EPERM, "cannot load BPF program '" + program + "_step' of " + image.name + ": " + why);
    object_.configure(r, reinterpret_cast<u64>(params.data()));
    object_.load();
    // After a successful load: a region once registered stays with the ring
    // (there is no unregistration), so nothing that can still fail for a
    // reason of its own comes between this and the attach.
    if (params.registered_with() != r.fd()) {
      int e = params.register_with(r);
      if (e == -EBUSY)
        throw error(EBUSY, "the ring already has a param region (one per ring): use the param_region that "
                           "was registered first");
      if (e == -ENOMEM)
        throw error(ENOMEM, param_region_memlock_problem(param_region<P>::bytes));
      if (e < 0)
        throw error(-e, "IORING_REGISTER_MEM_REGION failed: the BPF engine needs it (Linux 6.13+)");
    }
    attachment_.emplace(object_.struct_ops_map(), program);
  }

  // One io_uring_enter: the kernel runs the loop until the step returns
  // STOP (0), an invalid value (-EINVAL) or a signal arrives (-EINTR);
  // -EEXIST from a thread that is not the ring's submitter (io_run_loop),
  // -EBADFD for a ring still R_DISABLED, -EFAULT when the loop ops are gone
  // (run_attached_loop, iouloop/engine/attached.hpp, says how).
  int run() { return run_attached_loop(ring_.fd()); }

  // Detaches the loop ops (destroys the link), as the kernel does on
  // unregistration: a run sleeping in the loop ends with -EFAULT when it
  // wakes, later runs say -EFAULT at once. May be called from another thread
  // while run() is in the kernel (it waits until the loop sleeps).
  void detach() { attachment_.reset(); }
  bool attached() const { return attachment_.has_value(); }

  bpf_program_stats stats() const { return object_.stats(); }

 private:
  ring& ring_;
  bpf_object object_;
  std::optional<bpf_attachment> attachment_;  // last: detached first
};

}  // namespace iouloop
