// iouloop loader: the privileged half. Attaches policies compiled into it
// (nop, cp, timer, echo) to rings that servers send over a Unix socket; keeps
// each attachment while its connection is open.
//
//   loader --socket PATH [--mode OCTAL] [--verbose]
//
// Needs CAP_BPF and CAP_PERFMON (the BPF pieces) and CAP_SYS_PTRACE (to take
// the ring fd out of a server of another uid with pidfd_getfd; io_uring fds
// cannot be sent over SCM_RIGHTS), or root; the servers need none. Who may
// connect is the socket's mode and directory (default 0660: the loader's
// group); see docs/deploying.md.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_policy.hpp"
#include "examples/loader/loader.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"

int main(int argc, char** argv) {
  std::string path;
  unsigned long mode = 0660;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc)
      path = argv[++i];
    else if (a == "--mode" && i + 1 < argc)
      mode = std::strtoul(argv[++i], nullptr, 8);
    else if (a == "--verbose")
      verbose = true;
    else
      path.clear(), i = argc;
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: %s --socket PATH [--mode OCTAL] [--verbose]\n", argv[0]);
    return 2;
  }
  try {
    if (std::string why = iouloop::privileges::now().bpf_engine_problem(); !why.empty())
      throw iouloop::error(EPERM, "the loader cannot load BPF: " + why);
    loader::service svc(
        {loader::allow<nop::policy>("nop", nop_bpf::image()), loader::allow<cp::policy>("cp", cp_bpf::image()),
         loader::allow<timer::policy>("timer", timer_bpf::image()),
         loader::allow<echo::policy>("echo", echo_bpf::image())},
        verbose);
    int s = loader::service::listen_at(path, mode_t(mode));
    std::signal(SIGPIPE, SIG_IGN);
    std::fprintf(stderr, "loader: listening at %s (policies: nop, cp, timer, echo)\n", path.c_str());
    int r = svc.serve(s);
    std::fprintf(stderr, "loader: stopped (%d)\n", r);
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "loader: %s\n", e.what());
    return 1;
  }
}
