// iouloop/engine/select.hpp — pick an engine at run time.
//
//   iouloop::engine_choice c = iouloop::choose_engine(iouloop::parse_engine(flag));
//   iouloop::any_engine<P> e(c, ring, params, my_bpf::programs::my_policy{});
//   (or my_bpf::image(), "my_policy": by name, with no compile-time layout check)
//   std::printf("engine: %s\n", c.describe().c_str());
//
// `auto` takes the BPF engine where the probe says it can run, else the
// userspace engine, and says why.
#pragma once

#include <optional>
#include <string>

#include "iouloop/engine/bpf.hpp"
#include "iouloop/engine/userspace.hpp"
#include "iouloop/probe.hpp"

namespace iouloop {

enum class engine_kind { automatic, userspace, bpf };

inline engine_kind parse_engine(const std::string& s) {
  if (s == "auto") return engine_kind::automatic;
  if (s == "userspace") return engine_kind::userspace;
  if (s == "bpf") return engine_kind::bpf;
  throw error(EINVAL, "unknown engine '" + s + "': use auto, userspace or bpf");
}

struct engine_choice {
  engine_kind kind;    // userspace or bpf, never automatic
  std::string kernel;  // uname -r
  std::string reason;  // why this one
  std::string describe() const {
    return std::string(kind == engine_kind::bpf ? "bpf" : "userspace") + " (kernel " + kernel + ": " + reason + ")";
  }
};

// Throws when `bpf` is requested and the kernel cannot run it.
inline engine_choice choose_engine(engine_kind requested) {
  probe_result pr = probe();
  if (requested == engine_kind::userspace) return {engine_kind::userspace, pr.kernel, "requested"};
  if (pr.bpf_engine())
    return {engine_kind::bpf, pr.kernel, requested == engine_kind::bpf ? "requested" : "io_uring_bpf_ops available"};
  if (requested == engine_kind::bpf)
    throw error(EOPNOTSUPP, "the BPF engine cannot run here: " + pr.bpf_engine_problem() +
                                "; use the userspace engine (--engine userspace)");
  return {engine_kind::userspace, pr.kernel, "BPF engine unavailable: " + pr.bpf_engine_problem()};
}

template <policy P>
class any_engine {
 public:
  any_engine(const engine_choice& c, ring& r, param_region<P>& params, const bpf_image& image,
             const std::string& program) {
    if (c.kind == engine_kind::bpf)
      bpf_.emplace(r, params, image, program);
    else
      user_.emplace(r, params);
  }
  // The program by its generated handle: the params layout is checked at
  // compile time whichever engine runs (see bpf_engine).
  template <bpf_program_handle Program>
  any_engine(const engine_choice& c, ring& r, param_region<P>& params, Program program) {
    if (c.kind == engine_kind::bpf)
      bpf_.emplace(r, params, program);
    else
      user_.emplace(r, params);
  }
  int run() { return bpf_ ? bpf_->run() : user_->run(); }
  const exit_record& exit() const { return bpf_ ? bpf_->exit() : user_->exit(); }
  const char* name() const { return bpf_ ? "bpf" : "userspace"; }
  // Removes the loop ops from the ring (the engine's own detach()).
  void detach() { bpf_ ? bpf_->detach() : user_->detach(); }

 private:
  std::optional<userspace_engine<P>> user_;
  std::optional<bpf_engine<P>> bpf_;
};

}  // namespace iouloop
