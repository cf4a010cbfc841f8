// Running a piece of a test with fewer privileges: in a forked child, which
// drops capabilities (capset, raw syscalls: no libcap) or becomes an
// unprivileged user, and reports back through a pipe.
//
//   child_result r = in_child([] {
//     drop_capabilities({iouloop::caps::bpf, iouloop::caps::sys_admin});
//     return std::string("what the child saw");
//   });
//   REQUIRE(r.exited_ok());  REQUIRE_THAT(r.out, ContainsSubstring(...));
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>

#include "iouloop/engine/privileges.hpp"

// Drops `caps` from this thread's effective, permitted and inheritable sets,
// and from the bounding set (so nothing executed later regains them).
inline bool drop_capabilities(std::initializer_list<int> caps) {
  iouloop::caps::header h{iouloop::caps::version_3, 0};
  iouloop::caps::data d[2]{};
  if (::syscall(SYS_capget, &h, d) != 0) return false;
  for (int c : caps) {
    unsigned bit = 1u << (c % 32);
    d[c / 32].effective &= ~bit;
    d[c / 32].permitted &= ~bit;
    d[c / 32].inheritable &= ~bit;
    ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  }
  return ::syscall(SYS_capset, &h, d) == 0;
}

// Every capability gone, and uid/gid `id` (65534: nobody) for real,
// effective and saved ids: an ordinary unprivileged process.
inline bool become_unprivileged(unsigned id = 65534) {
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return false;
  if (::setgroups(0, nullptr) != 0 || ::setresgid(id, id, id) != 0 || ::setresuid(id, id, id) != 0) return false;
  unsigned long long eff = ~0ull;
  return iouloop::caps::effective(eff) && eff == 0;
}

struct child_result {
  int status = -1;  // as waitpid says
  std::string out;  // what the child's function returned
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// A forked child running a function; wait() collects what it returned.
struct child {
  pid_t pid = -1;
  int fd = -1;
  child_result wait() {
    child_result r;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) r.out.append(buf, size_t(n));
    ::close(fd);
    ::waitpid(pid, &r.status, 0);
    return r;
  }
};

// Starts `fn` (returning std::string) in a forked child. An exception in the
// child ends up in `out` as "exception: ...", with exit status 3.
// `timeout_s`: SIGALRM (default action: the child dies) after that long.
template <class F>
child spawn_child(F fn, unsigned timeout_s = 120) {
  int p[2];
  child c;
  if (::pipe2(p, O_CLOEXEC) != 0) return c;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    ::alarm(timeout_s);
    std::string out;
    int code = 0;
    try {
      out = fn();
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
      code = 3;
    }
    const char* s = out.data();
    for (size_t left = out.size(); left > 0;) {
      ssize_t n = ::write(p[1], s, left);
      if (n <= 0) break;
      s += n;
      left -= size_t(n);
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  ::close(p[1]);
  c.pid = pid;
  c.fd = p[0];
  return c;
}

// spawn_child, then wait.
template <class F>
child_result in_child(F fn, unsigned timeout_s = 120) {
  return spawn_child(fn, timeout_s).wait();
}
