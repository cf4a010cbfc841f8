// Privilege separation in the VM: this test process is the loader (root, with
// CAP_BPF and CAP_PERFMON); each server is a forked child that gave up every
// capability and became uid 65534 before making its ring. The server gets
// its loop run by the kernel, holds no BPF fd, and cannot get anything but an
// allow-listed policy attached to a ring the loader checked. The loader takes
// the ring fd with pidfd_getfd (an io_uring fd cannot go over SCM_RIGHTS),
// which needs CAP_SYS_PTRACE over another uid's process.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/loader/loader.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"
#include "iouloop/engine/attached.hpp"
#include "iouloop/probe.hpp"
#include "tests/support/census.hpp"
#include "tests/support/privileges.hpp"

using Catch::Matchers::ContainsSubstring;

namespace {

void require_vm_bpf() {
  iouloop::probe_result pr = iouloop::probe();
  if (!pr.bpf_engine()) SKIP("BPF engine unavailable on kernel " << pr.kernel << ": " << pr.bpf_engine_problem());
}

loader::service make_service() {
  return loader::service({loader::allow<nop::policy>("nop", nop_bpf::image()),
                          loader::allow<cp::policy>("cp", cp_bpf::image()),
                          loader::allow<timer::policy>("timer", timer_bpf::image())});
}

const std::string sock_path = "/tmp/iouloop-loader-test.sock";

// fds of this process that are BPF objects (anon_inode:bpf-prog, bpf-map, bpf_link, btf).
int bpf_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = d ? readdir(d) : nullptr) {
    char buf[256];
    ssize_t len = ::readlink(("/proc/self/fd/" + std::string(e->d_name)).c_str(), buf, sizeof buf - 1);
    if (len <= 0) continue;
    std::string t(buf, size_t(len));
    if (t.find("bpf") != std::string::npos || t.find("btf") != std::string::npos) n++;
  }
  if (d) closedir(d);
  return n;
}

// Runs `server` in an unprivileged child while this process serves `sessions`
// connections; returns what the server said. The loader must leave no BPF
// object behind once the sessions are over.
template <class F>
std::string with_server(unsigned sessions, F server) {
  census before = census::settled();
  loader::service svc = make_service();
  int listen_fd = loader::service::listen_at(sock_path);
  child c = spawn_child([&] {
    ::close(listen_fd);
    if (!become_unprivileged()) return std::string("could not drop privileges");
    return server();
  });
  int served = svc.serve(listen_fd, sessions, 60000);
  ::close(listen_fd);
  child_result r = c.wait();
  INFO("server said: " << r.out);
  REQUIRE(served == 0);
  REQUIRE(r.exited_ok());
  REQUIRE(svc.open_sessions() == 0);
  census after = census::until_within(before);
  INFO("census before " << before << ", after " << after);
  REQUIRE(after.progs <= before.progs);
  REQUIRE(after.maps <= before.maps);
  REQUIRE(after.links <= before.links);
  return r.out;
}

// The refusal the loader gives for `rq`.
std::string refused_with(const loader::request& rq) {
  try {
    loader::session s(sock_path, rq);
    return "attached (not refused)";
  } catch (const iouloop::error& e) {
    return e.what();
  }
}
loader::request with_fd(loader::request rq, int fd) {
  rq.ring_fd = fd;
  return rq;
}

}  // namespace

TEST_CASE("a server with no capabilities runs a loop the loader attached, and holds no BPF fd", "[loader][bpf]") {
  require_vm_bpf();
  std::string out = with_server(1, [] {
    std::ostringstream o;
    o << "caps: " << iouloop::privileges::now().relevant() << "\n";
    if (iouloop::privileges::now().bpf_engine_problem().empty()) return std::string("still privileged");
    iouloop::ring ring;
    iouloop::param_region<nop::policy> params(nop::params{1000, 16, 0, 0, 0});
    iouloop::attached_loop<nop::policy> loop(ring, params);
    int ret;
    {
      loader::session s(sock_path, ring, params, "nop");
      ret = loop.run();
      o << "run " << ret << " completed " << params->completed << " errors " << params->errors << " bpf_fds "
        << bpf_fds() << "\n";
    }
    // Closing the connection detaches: the next run says -EFAULT (rule 7)
    // once the loader has destroyed the link.
    int after = 0;
    for (int i = 0; i < 500 && (after = loop.run()) != -EFAULT; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    o << "after detach " << after << "\n";
    return o.str();
  });
  CHECK_THAT(out, ContainsSubstring("caps: none"));
  CHECK_THAT(out, ContainsSubstring("run 0 completed 1000 errors 0 bpf_fds 0"));
  CHECK_THAT(out, ContainsSubstring("after detach -14"));
}

TEST_CASE("a loop attached by the loader uses the server's own memory (SQEs point into its param region)",
          "[loader][bpf]") {
  require_vm_bpf();
  std::string out = with_server(1, [] {
    std::string log = "/tmp/iouloop-loader-timer.log";
    ::unlink(log.c_str());
    int log_fd = ::open(log.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int p[2];
    if (log_fd < 0 || ::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return std::string("set-up failed");
    iouloop::ring ring;
    iouloop::param_region<timer::policy> params(timer::make_params(log_fd, p[0], 20, 5, 3));
    iouloop::attached_loop<timer::policy> loop(ring, params);
    loader::session s(sock_path, ring, params, "timer");
    int ret = loop.run();
    std::ifstream f(log);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::ostringstream o;
    o << "run " << ret << " ticked " << params->ticked << " written " << params->written << " errors " << params->errors
      << "\n"
      << text;
    ::close(log_fd);
    ::close(p[0]);
    ::close(p[1]);
    return o.str();
  });
  CHECK_THAT(out, ContainsSubstring("run 0 ticked 3 written 3 errors 0"));
  CHECK_THAT(out, ContainsSubstring("tick 000001\ntick 000002\ntick 000003\n"));
}

TEST_CASE("the loader refuses what it cannot check, by name, and leaves nothing behind", "[loader][bpf]") {
  require_vm_bpf();
  constexpr unsigned cases = 12;
  std::string out = with_server(cases, [] {
    using namespace iouloop;
    std::ostringstream o;
    iouloop::ring good;
    param_region<nop::policy> params(nop::params{10, 1, 0, 0, 0});
    attached_loop<nop::policy> loop(good, params);
    const loader::request base = loader::describe(good, params, "nop");
    auto line = [&](const char* what, const std::string& said) { o << what << ": " << said << "\n"; };

    loader::request rq = base;
    std::strcpy(rq.policy, "evil");
    line("unknown name", refused_with(rq));
    rq = base;
    std::strcpy(rq.policy, "cp");  // allowed, but not the server's policy: sizes differ
    line("other policy", refused_with(rq));
    rq = base;
    rq.setup_flags &= ~abi::setup::defer_taskrun;
    line("claims no DEFER_TASKRUN", refused_with(rq));
    rq = base;
    rq.sq_entries *= 2;
    rq.cq_entries *= 2;
    line("claims other sizes", refused_with(rq));
    {
      ring_options plain;  // the claim says DEFER_TASKRUN, the ring has not
      plain.flags = abi::setup::single_issuer | abi::setup::no_sqarray;
      iouloop::ring liar(plain);
      line("flags lie", refused_with(with_fd(base, liar.fd())));
    }
    {
      ring_options sq;
      sq.flags = abi::setup::sqpoll | abi::setup::no_sqarray;
      iouloop::ring poller(sq);
      line("SQPOLL ring", refused_with(with_fd(base, poller.fd())));
    }
    {
      ring_options dis;
      dis.flags |= abi::setup::r_disabled;
      iouloop::ring disabled(dis);
      line("disabled ring", refused_with(with_fd(base, disabled.fd())));
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return std::string("pipe failed");
    line("a pipe", refused_with(with_fd(base, p[0])));
    ::close(p[0]);
    ::close(p[1]);
    line("no fd", refused_with(with_fd(base, -1)));
    line("an fd the server lacks", refused_with(with_fd(base, 999)));
    rq = base;
    rq.magic = 0;
    line("bad magic", refused_with(rq));
    rq = base;
    rq.params_uaddr += 8;
    line("unaligned region", refused_with(rq));
    // Nothing was attached: the ring is no loop (rule 7: -EFAULT).
    o << "good ring runs: " << loop.run() << "\n";
    o << "bpf_fds " << bpf_fds() << "\n";
    return o.str();
  });
  INFO(out);
  CHECK_THAT(out, ContainsSubstring("unknown name: the loader refused policy 'evil': unknown policy 'evil': this "
                                    "loader attaches only nop, cp, timer"));
  CHECK_THAT(out, ContainsSubstring("other policy: the loader refused policy 'cp': policy 'cp' here has"));
  CHECK_THAT(out, ContainsSubstring("claims no DEFER_TASKRUN: the loader refused policy 'nop': ring lacks "
                                    "IORING_SETUP_DEFER_TASKRUN"));
  CHECK_THAT(out, ContainsSubstring("claims other sizes: the loader refused policy 'nop': the ring has 64 SQ and "
                                    "128 CQ entries, the request says 128 and 256"));
  CHECK_THAT(out, ContainsSubstring("flags lie: the loader refused policy 'nop': the ring is not a DEFER_TASKRUN "
                                    "ring owned by another task"));
  CHECK_THAT(out, ContainsSubstring("SQPOLL ring: the loader refused policy 'nop': the ring has an SQPOLL thread"));
  CHECK_THAT(out, ContainsSubstring("disabled ring: the loader refused policy 'nop': the ring is still disabled"));
  CHECK_THAT(out, ContainsSubstring("a pipe: the loader refused policy 'nop': the fd sent is not an io_uring"));
  CHECK_THAT(out, ContainsSubstring("no fd: the loader refused policy 'nop': the request names no ring fd"));
  CHECK_THAT(out,
             ContainsSubstring("an fd the server lacks: the loader refused policy 'nop': the server has no fd 999"));
  CHECK_THAT(out, ContainsSubstring("bad magic: the loader refused policy 'nop': not an iouloop loader request"));
  CHECK_THAT(out, ContainsSubstring("unaligned region: the loader refused policy 'nop': the param region address"));
  CHECK_THAT(out, ContainsSubstring("good ring runs: -14"));
  CHECK_THAT(out, ContainsSubstring("bpf_fds 0"));
}

// A loader that dropped `caps` serves one unprivileged server asking for
// "nop"; returns what the server was told (the error's text, or "attached").
child_result refused_by_loader(std::initializer_list<int> caps) {
  return in_child([caps] {
    drop_capabilities(caps);
    loader::service svc = make_service();
    int listen_fd = loader::service::listen_at(sock_path);
    child c = spawn_child([&] {
      ::close(listen_fd);
      if (!become_unprivileged()) return std::string("could not drop privileges");
      iouloop::ring ring;
      iouloop::param_region<nop::policy> params(nop::params{10, 1, 0, 0, 0});
      iouloop::attached_loop<nop::policy> loop(ring, params);
      try {
        loader::session s(sock_path, ring, params, "nop");
      } catch (const iouloop::error& e) {
        return std::string(e.what());
      }
      return std::string("attached");
    });
    svc.serve(listen_fd, 1, 60000);
    ::close(listen_fd);
    return c.wait().out;
  });
}

TEST_CASE("a loader without CAP_BPF and CAP_PERFMON says so to the server", "[loader][bpf]") {
  require_vm_bpf();
  // The loader itself runs in a child that dropped the capabilities; the
  // server is a grandchild that dropped everything.
  child_result r = refused_by_loader({iouloop::caps::bpf, iouloop::caps::perfmon, iouloop::caps::sys_admin});
  INFO(r.out);
  REQUIRE(r.exited_ok());
  CHECK_THAT(r.out, ContainsSubstring("lacks CAP_BPF"));
  CHECK_THAT(r.out, ContainsSubstring("CAP_PERFMON"));
  CHECK_THAT(r.out, ContainsSubstring("[EPERM"));
}

TEST_CASE("an io_uring fd cannot travel over SCM_RIGHTS (why the loader takes it with pidfd_getfd)", "[loader]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  iouloop::ring ring;
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  cmsghdr* h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  int fd = ring.fd();
  std::memcpy(CMSG_DATA(h), &fd, sizeof fd);
  errno = 0;
  CHECK(::sendmsg(sv[0], &m, 0) == -1);
  CHECK(errno == EINVAL);  // net/core/scm.c scm_fp_copy: "don't allow io_uring files"
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_CASE("a loader without CAP_SYS_PTRACE cannot take another user's ring, and says so", "[loader][bpf]") {
  require_vm_bpf();
  child_result r = refused_by_loader({iouloop::caps::sys_ptrace});
  INFO(r.out);
  REQUIRE(r.exited_ok());
  CHECK_THAT(r.out, ContainsSubstring("the loader may not take fd"));
  CHECK_THAT(r.out, ContainsSubstring("give the loader CAP_SYS_PTRACE"));
}
