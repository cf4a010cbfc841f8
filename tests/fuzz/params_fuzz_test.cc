// Params that lie: while each example policy (nop, cp, echo, timer) runs, a
// thread writes random bytes into its param region. On either engine the run
// must end with a stop (0) or, at its time limit, with -EINTR from the signal
// that ends it; never a crash, never a hang that the signal does not end, and
// never memory touched outside the region and the buffers the host gave.
//
// What the liar leaves alone: the fields that are the host's handles (fds,
// buffer addresses, and the geometry that says how big the buffers are).
// Those are the host's to get right, as in any system call: the kernel
// checks them (-EBADF, -EFAULT), and where they name something real, the
// host named it. Everything else, the policy's running state included, is
// fair game.
//
// Each run is a forked child (a crash or a hang is seen, not suffered), with
// guard pages (PROT_NONE) right before and after the param region where the
// address space is free, and canary pages around the I/O buffers. A step that
// reads or writes outside the region faults on a guard page on the userspace
// engine (and ASan sees heap accesses); on the BPF engine the verifier bounds
// every access, and the kernel's I/O would hit the canaries.
//
//   IOULOOP_PARAMS_FUZZ_SEED  the seed (default: from the clock; always printed)
//   IOULOOP_PARAMS_FUZZ_RUNS  runs per policy and engine (default 6)
//   IOULOOP_PARAMS_FUZZ_ONLY  run only this one, as printed: policy/engine/run
// A failure prints the command that replays it.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "examples/cp/cp_bpf.bpf.h"
#include "examples/cp/cp_policy.hpp"
#include "examples/echo/echo_bpf.bpf.h"
#include "examples/echo/echo_host.hpp"
#include "examples/echo/echo_policy.hpp"
#include "examples/nop/nop_bpf.bpf.h"
#include "examples/nop/nop_policy.hpp"
#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"
#include "iouloop/engine/bpf.hpp"
#include "iouloop/iouloop.hpp"
#include "iouloop/probe.hpp"
#include "tests/support/files.hpp"
#include "tests/support/rng.hpp"

namespace {
using iouloop::u32;
using iouloop::u64;

using iouloop_test::env_u64;
using iouloop_test::rng;

// Byte ranges [begin, end) of params the liar may write.
struct span {
  size_t begin, end;
};
template <class T>
std::vector<span> all_but(std::vector<span> pinned) {
  std::vector<span> out;
  size_t at = 0;
  std::sort(pinned.begin(), pinned.end(), [](span a, span b) { return a.begin < b.begin; });
  for (span p : pinned) {
    if (p.begin > at) out.push_back({at, p.begin});
    at = std::max(at, p.end);
  }
  if (at < sizeof(T)) out.push_back({at, sizeof(T)});
  return out;
}
#define IOULOOP_FIELD(T, f) \
  span { offsetof(T, f), offsetof(T, f) + sizeof(T::f) }

// Writes random bytes into `allowed` ranges of the region at `base` until
// destroyed: sometimes a few random bytes, sometimes a 32-bit value that
// policies treat specially (0, 1, all ones, a power of two, one less).
class liar {
 public:
  liar(unsigned char* base, std::vector<span> allowed, u64 seed)
      : thread_([this, base, allowed, seed] {
          rng g{seed};
          static const u32 special[] = {0, 1, 2, 0xffffffffu, 0x7fffffffu, 0x80000000u, 63, 64, 65, 4095, 4096};
          while (!stop_.load(std::memory_order_relaxed)) {
            const span& s = allowed[g.below(u32(allowed.size()))];
            const size_t len = s.end - s.begin;
            if (len == 0) continue;
            if (g.below(4) == 0 && len >= 4) {
              size_t off = s.begin + (g.below(u32(len - 3)) & ~size_t(3));
              if (off + 4 > s.end) off = s.begin;
              u32 v = special[g.below(sizeof special / sizeof *special)];
              __atomic_store_n(reinterpret_cast<u32*>(base + off), v, __ATOMIC_RELAXED);
            } else {
              size_t n = 1 + g.below(8), off = s.begin + g.below(u32(len));
              for (size_t i = 0; i < n && off + i < s.end; ++i)
                __atomic_store_n(base + off + i, (unsigned char)g.next(), __ATOMIC_RELAXED);
            }
            writes_++;
            if (g.below(64) == 0) std::this_thread::sleep_for(std::chrono::microseconds(g.below(100)));
          }
        }) {}
  ~liar() {
    stop_ = true;
    thread_.join();
  }
  u64 writes() const { return writes_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<u64> writes_{0};
  std::thread thread_;
};

// A param region with PROT_NONE pages right before and after it: reserve
// three pages' worth, unmap the middle, and let the region's own mmap take
// the hole (top-down placement takes the highest gap that fits, which is
// usually this one; retried a few times, and the result says whether it
// worked).
template <class P>
std::unique_ptr<iouloop::param_region<P>> guarded_region(const typename P::params_type& init, bool& guarded) {
  constexpr size_t bytes = iouloop::param_region<P>::bytes;
  for (int attempt = 0; attempt < 16; ++attempt) {
    void* r = ::mmap(nullptr, bytes + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char* hole = static_cast<char*>(r) + 4096;
    ::munmap(hole, bytes);
    auto p = std::make_unique<iouloop::param_region<P>>(init);
    if (p->data() == hole) {
      guarded = true;
      return p;  // the guard pages stay mapped for the life of the child
    }
    p.reset();
    ::munmap(r, 4096);
    ::munmap(hole + bytes, 4096);
  }
  guarded = false;
  return std::make_unique<iouloop::param_region<P>>(init);
}

// I/O buffers: `used` bytes the host gives the policy, with canary bytes
// before (a page) and after (up to `reach` bytes: as far as an index or a
// length taken from lying state could carry an I/O). The kernel writing
// anywhere there changes a canary.
class canaried {
 public:
  canaried(size_t used, size_t reach) : used_(used), total_(4096 + ((used + reach + 4095) & ~size_t(4095))) {
    void* m = ::mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = static_cast<unsigned char*>(m);
    std::memset(base_, 0xA5, total_);
  }
  ~canaried() { ::munmap(base_, total_); }
  iouloop::uaddr addr() const { return iouloop::uaddr::of(base_ + 4096); }
  bool intact() const {
    for (size_t i = 0; i < total_; ++i)
      if ((i < 4096 || i >= 4096 + used_) && base_[i] != 0xA5) return false;
    return true;
  }

 private:
  size_t used_, total_;
  unsigned char* base_;
};

enum class engine { userspace, bpf };
const char* engine_name(engine e) { return e == engine::bpf ? "bpf" : "userspace"; }

// Runs the loop with a liar, ends it with SIGALRM after `limit_ms`. Returns
// the outcome line; "ok" lines start with "ok".
template <class P>
std::string run_with_liar(engine which, bool guarded, iouloop::param_region<P>& params,
                          const std::vector<span>& allowed, u64 seed, const iouloop::bpf_image& image,
                          const char* program, unsigned limit_ms, const std::function<bool()>& check = {}) {
  iouloop::ring ring;
  std::ostringstream o;
  std::optional<iouloop::userspace_engine<P>> ue;
  std::optional<iouloop::bpf_engine<P>> be;
  if (which == engine::bpf)
    be.emplace(ring, params, image, program);
  else
    ue.emplace(ring, params, iouloop::chaos{});
  int ret;
  iouloop::s32 policy_failure = 0;
  u64 writes;
  {
    // The liar (and the helper threads the scenario made before) must not
    // take the signal: block it, start the liar, unblock it here only.
    sigset_t alrm, old;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
    liar l(static_cast<unsigned char*>(params.data()), allowed, seed);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    itimerval t{};
    t.it_value.tv_sec = limit_ms / 1000;
    t.it_value.tv_usec = (limit_ms % 1000) * 1000;
    t.it_interval.tv_usec = 50000;  // again every 50 ms: a run that missed one still ends
    setitimer(ITIMER_REAL, &t, nullptr);
    ret = ue ? ue->run() : be->run();
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    writes = l.writes();
    policy_failure = (ue ? ue->exit() : be->exit()).error;
  }
  // STOP, the timer's signal, or the policy's own loop.fail() (the lies make
  // its requests fail): never anything else, such as a step value that is
  // neither CONTINUE nor STOP.
  bool ok = ret == 0 || ret == -EINTR || (ret < 0 && ret == policy_failure);
  if (check && !check()) return "FAILED: I/O touched memory outside the buffers the host gave (a canary changed)";
  o << (ok ? "ok" : "FAILED: unexpected result") << " ret " << ret << " writes " << writes
    << (guarded ? " guarded" : " NOT guarded");
  return o.str();
}

void on_alarm(int) {}

// A copy (cp::policy, cp::unlinked_policy or cp::serial_policy, program `program`) with lying params.
template <class P>
std::string run_copy(engine which, rng& g, u64 seed, unsigned limit_ms, const char* program) {
  const u32 block = 4096, depth = 1 + g.below(16);
  const size_t size = 1 + g.below(8u << 20);
  testfiles::temp_file in("pf-in", testfiles::pattern(size, seed));
  testfiles::temp_file out("pf-out");
  // a slot up to max_depth - 1, a read up to the file's size past it
  canaried bufs(size_t(block) * depth, size_t(block) * cp::max_depth + size);
  bool guarded;
  auto p = guarded_region<P>(cp::make_params(in.fd(), out.fd(), size, bufs.addr(), block, depth), guarded);
  auto allowed = all_but<cp::params>({IOULOOP_FIELD(cp::params, fd_in), IOULOOP_FIELD(cp::params, fd_out),
                                      IOULOOP_FIELD(cp::params, buffers), IOULOOP_FIELD(cp::params, block),
                                      IOULOOP_FIELD(cp::params, depth)});
  return run_with_liar(which, guarded, *p, allowed, g.next(), cp_bpf::image(), program, limit_ms,
                       [&] { return bufs.intact(); });
}

// One run of `policy` on `which`, in this (child) process.
std::string one_run(const std::string& policy, engine which, u64 seed, unsigned limit_ms) {
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
  rng g{seed};
  if (policy == "nop") {
    bool guarded;
    auto p = guarded_region<nop::policy>(nop::params{1 + g.below(2000000), 1 + g.below(64), 0, 0, 0}, guarded);
    return run_with_liar(which, guarded, *p, all_but<nop::params>({}), g.next(), nop_bpf::image(), "nop", limit_ms);
  }
  if (policy == "cp") return run_copy<cp::policy>(which, g, seed, limit_ms, "cp");
  if (policy == "cp_unlinked") return run_copy<cp::unlinked_policy>(which, g, seed, limit_ms, "cp_unlinked");
  if (policy == "cp_serial") return run_copy<cp::serial_policy>(which, g, seed, limit_ms, "cp_serial");
  if (policy == "timer") {
    testfiles::temp_file log("pf-log");
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return "FAILED: pipe";
    ::write(pipefd[1], "some input\n", 11);
    bool guarded;
    auto p = guarded_region<timer::policy>(timer::make_params(log.fd(), pipefd[0], 2, 1, 1 + g.below(1000)), guarded);
    auto allowed = all_but<timer::params>({IOULOOP_FIELD(timer::params, log_fd), IOULOOP_FIELD(timer::params, in_fd)});
    std::string r = run_with_liar(which, guarded, *p, allowed, g.next(), timer_bpf::image(), "timer", limit_ms);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return r;
  }
  if (policy == "echo") {
    echo_host::ensure_loopback();
    echo_host::listener lis;
    const u32 slots = 1 + g.below(8), slot_bytes = 512u << g.below(4);
    canaried bufs(size_t(slots) * slot_bytes, size_t(slot_bytes) * echo::max_conns);
    bool guarded;
    auto p = guarded_region<echo::policy>(echo::make_params(lis.fd(), bufs.addr(), slots, slot_bytes, 0), guarded);
    auto allowed = all_but<echo::params>({IOULOOP_FIELD(echo::params, listen_fd), IOULOOP_FIELD(echo::params, buffers),
                                          IOULOOP_FIELD(echo::params, slots), IOULOOP_FIELD(echo::params, slot_bytes),
                                          IOULOOP_FIELD(echo::params, fd)});
    // Clients come and go while the loop runs (SIGALRM blocked in them).
    std::atomic<bool> stop{false};
    sigset_t alrm, old;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
    std::thread clients([&] {
      while (!stop) {
        int fd = echo_host::connect_loopback(lis.port());
        if (fd < 0) continue;
        struct timeval tv{0, 20000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[256];
        ::send(fd, "hello, lying params\n", 20, MSG_NOSIGNAL);
        ::recv(fd, buf, sizeof buf, 0);
        ::close(fd);
      }
    });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    std::string r = run_with_liar(which, guarded, *p, allowed, g.next(), echo_bpf::image(), "echo", limit_ms,
                                  [&] { return bufs.intact(); });
    stop = true;
    clients.join();
    echo_host::close_open_slots(**p);
    return r;
  }
  return "FAILED: unknown policy " + policy;
}

// Runs one_run in a child; a crash, a hang past the limit, or a failed check
// is the result line.
std::string in_child(const std::string& policy, engine which, u64 seed, unsigned limit_ms) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "FAILED: pipe";
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    // Far from the fds the policy might be told to use.
    int out = ::fcntl(p[1], F_DUPFD_CLOEXEC, 900);
    std::string r;
    try {
      r = one_run(policy, which, seed, limit_ms);
    } catch (const std::exception& e) {
      r = std::string("FAILED: exception: ") + e.what();
    }
    ::write(out, r.data(), r.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string r;
  char buf[512];
  // The run has limit_ms, then the signal must end it: 20 s more is a hang.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms + 20000);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(p[0]);
      return "FAILED: hang: the run did not end within 20 s of its time limit's signal";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) r.append(buf, size_t(n));
  ::close(p[0]);
  if (WIFSIGNALED(status)) return "FAILED: crashed with signal " + std::to_string(WTERMSIG(status)) + " " + r;
  if (r.empty()) return "FAILED: exited " + std::to_string(WEXITSTATUS(status)) + " without a result";
  return r;
}

}  // namespace

TEST_CASE("params that lie: random bytes in the param region while every example policy runs", "[fuzz][params]") {
  const u64 seed = env_u64("IOULOOP_PARAMS_FUZZ_SEED",
                           u64(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007);
  const u64 runs = env_u64("IOULOOP_PARAMS_FUZZ_RUNS", 6);
  const char* only_env = std::getenv("IOULOOP_PARAMS_FUZZ_ONLY");
  const std::string only = only_env ? only_env : "";
  const bool in_vm = std::getenv("IOULOOP_IN_VM") != nullptr;
  const unsigned limit_ms = in_vm ? 400 : 150;
  iouloop::probe_result pr = iouloop::probe();
  std::vector<engine> engines{engine::userspace};
  if (pr.bpf_engine()) engines.push_back(engine::bpf);
  std::printf("params_fuzz: seed %llu, %llu runs per policy and engine (%s), %u ms each\n", (unsigned long long)seed,
              (unsigned long long)runs, pr.bpf_engine() ? "userspace and bpf" : "userspace only: no BPF engine here",
              limit_ms);
  std::fflush(stdout);
  u64 failures = 0, done = 0;
  const char* policies[] = {"nop", "cp", "timer", "echo", "cp_unlinked", "cp_serial"};
  for (int pi = 0; pi < int(sizeof(policies) / sizeof(policies[0])); ++pi) {
    for (engine e : engines) {
      for (u64 i = 0; i < runs; ++i) {
        const std::string name = std::string(policies[pi]) + "/" + engine_name(e) + "/" + std::to_string(i);
        if (!only.empty() && only != name) continue;
        const u64 s = seed * 1000003 + u64(pi) * 1000 + (e == engine::bpf ? 500 : 0) + i;
        std::string r = in_child(policies[pi], e, s, limit_ms);
        done++;
        if (r.rfind("ok", 0) == 0) {
          if (std::getenv("IOULOOP_PARAMS_FUZZ_VERBOSE")) std::printf("%s: %s\n", name.c_str(), r.c_str());
          continue;
        }
        failures++;
        const std::string replay =
            in_vm ? "tools/vm/run.sh --env IOULOOP_PARAMS_FUZZ_SEED=" + std::to_string(seed) +
                        " --env IOULOOP_PARAMS_FUZZ_ONLY=" + name + " bazel-bin/tests/fuzz/params_fuzz_test_static"
                  : "IOULOOP_PARAMS_FUZZ_SEED=" + std::to_string(seed) + " IOULOOP_PARAMS_FUZZ_ONLY=" + name +
                        " bazel-bin/tests/fuzz/params_fuzz_test";
        FAIL_CHECK(name << ": " << r << "\n  replay: " << replay);
      }
    }
  }
  std::printf("params_fuzz: seed %llu, %llu runs, %llu failures\n", (unsigned long long)seed, (unsigned long long)done,
              (unsigned long long)failures);
  REQUIRE(failures == 0);
}
