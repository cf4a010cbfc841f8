// A per-case time limit for long randomized test runs in the VM.
//
// A case that hangs must not keep the VM idle until its global limit (which
// then fails every later program): the watchdog thread notices a case that
// runs past its limit, prints what hung (the case, the engine, the phase),
// any diagnostics the test registered, the kernel stacks of the process's
// threads (io-wq workers included) and the replay command, then a failing
// result line for the test case, and ends the process with _exit.
//
// A thread rather than a signal: the userspace engine blocks signals while
// its loop runs and reports a handled one as -EINTR, so a timer signal would
// change what is tested; the thread only reads.
//
//   case_watchdog dog("diff_fuzz", "differential fuzzing: ...", std::chrono::seconds(20));
//   dog.start_case(i, description, replay_command);
//   dog.phase("bpf", "run");
//   dog.on_hang([&] { return "params: ..."; });   // optional, cleared by end_case
//   dog.end_case();
#pragma once

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <errno.h>  // program_invocation_short_name
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace testwatch {

// Seconds from the environment variable `name`, or `fallback`.
inline std::chrono::milliseconds limit_from_env(const char* name, double fallback_s) {
  const char* v = std::getenv(name);
  double s = v && *v ? std::strtod(v, nullptr) : fallback_s;
  if (!(s > 0)) s = fallback_s;
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

// The kernel's view of every thread of this process: name, state, wait
// channel and (as root, CONFIG_STACKTRACE) the kernel stack.
inline std::string thread_stacks() {
  std::ostringstream out;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return "  (no /proc/self/task)\n";
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = std::string("/proc/self/task/") + e->d_name;
    auto slurp = [](const std::string& path) {
      std::ifstream f(path);
      std::stringstream s;
      s << f.rdbuf();
      return s.str();
    };
    std::string comm = slurp(base + "/comm"), wchan = slurp(base + "/wchan"), stat = slurp(base + "/stat");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    // The state is the field after the parenthesised name.
    std::string state = "?";
    if (auto p = stat.rfind(')'); p != std::string::npos && p + 2 < stat.size()) state = stat.substr(p + 2, 1);
    out << "  thread " << e->d_name << " (" << comm << ") state " << state << " wchan " << (wchan.empty() ? "-" : wchan)
        << "\n";
    std::string stack = slurp(base + "/stack");
    std::istringstream lines(stack);
    for (std::string l; std::getline(lines, l);) out << "    " << l << "\n";
  }
  ::closedir(d);
  return out.str();
}

// The last `lines` lines of the kernel's trace buffer, if tracing is on
// (tests/fuzz/vm_trace_iowq.sh turns it on in the VM); "" otherwise.
inline std::string kernel_trace_tail(size_t lines = 80) {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    std::ifstream on(std::string(dir) + "/tracing_on");
    int enabled = 0;
    if (!(on >> enabled) || !enabled) continue;
    std::ifstream f(std::string(dir) + "/trace");
    std::vector<std::string> tail;
    for (std::string l; std::getline(f, l);) {
      if (!l.empty() && l[0] == '#') continue;
      tail.push_back(l);
      if (tail.size() > 4 * lines) tail.erase(tail.begin(), tail.begin() + long(tail.size() - lines));
    }
    size_t from = tail.size() > lines ? tail.size() - lines : 0;
    std::string out =
        std::string("kernel trace (last ") + std::to_string(tail.size() - from) + " events, " + dir + "):\n";
    for (size_t i = from; i < tail.size(); ++i) out += "  " + tail[i] + "\n";
    return out;
  }
  return "";
}

class case_watchdog {
 public:
  // `tag` starts the lines it prints ("diff_fuzz: case 7 HUNG ..."); `test_name`
  // makes the failing result line that tools/test.sh counts
  // ("@@iouloop-test FAIL <binary>: <test_name> (case 7 hung)").
  case_watchdog(std::string tag, std::string test_name, std::chrono::milliseconds limit)
      : tag_(std::move(tag)), test_name_(std::move(test_name)), limit_(limit) {
    // The thread takes no signal: a process-directed one must reach the
    // thread under test, as it would without the watchdog.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    thread_ = std::thread([this] { watch(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  case_watchdog(const case_watchdog&) = delete;
  case_watchdog& operator=(const case_watchdog&) = delete;
  ~case_watchdog() {
    {
      std::lock_guard<std::mutex> g(m_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  std::chrono::milliseconds limit() const { return limit_; }

  void start_case(unsigned long long index, std::string description, std::string replay) {
    std::lock_guard<std::mutex> g(m_);
    armed_ = true;
    index_ = index;
    description_ = std::move(description);
    replay_ = std::move(replay);
    engine_ = "-";
    phase_ = "start";
    dump_ = nullptr;
    started_ = std::chrono::steady_clock::now();
    deadline_ = started_ + limit_;
    cv_.notify_all();
  }
  void phase(const char* engine, const char* phase) {
    std::lock_guard<std::mutex> g(m_);
    engine_ = engine;
    phase_ = phase;
  }
  // Extra diagnostics to print if the case hangs (called from the watchdog
  // thread while the case is stuck: it may only read).
  void on_hang(std::function<std::string()> dump) {
    std::lock_guard<std::mutex> g(m_);
    dump_ = std::move(dump);
  }
  // Registers `dump` for the life of the scope (the dump refers to objects
  // of that scope).
  class scoped_dump {
   public:
    scoped_dump(case_watchdog& dog, std::function<std::string()> dump) : dog_(dog) { dog_.on_hang(std::move(dump)); }
    scoped_dump(const scoped_dump&) = delete;
    scoped_dump& operator=(const scoped_dump&) = delete;
    ~scoped_dump() { dog_.on_hang(nullptr); }

   private:
    case_watchdog& dog_;
  };

  // Returns how long the case took.
  std::chrono::milliseconds end_case() {
    std::lock_guard<std::mutex> g(m_);
    armed_ = false;
    dump_ = nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  }

 private:
  void watch() {
    std::unique_lock<std::mutex> g(m_);
    for (;;) {
      if (quit_) return;
      if (!armed_) {
        cv_.wait(g);
        continue;
      }
      if (cv_.wait_until(g, deadline_) == std::cv_status::timeout && armed_ &&
          std::chrono::steady_clock::now() >= deadline_)
        hung();  // does not return
    }
  }

  [[noreturn]] void hung() {
    // Everything in one go, flushed: the process ends right after.
    std::printf(
        "%s: case %llu HUNG (engine %s, phase %s) after %lld ms (limit %lld ms): %s\n", tag_.c_str(), index_,
        engine_.c_str(), phase_.c_str(),
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count()),
        static_cast<long long>(limit_.count()), description_.c_str());
    std::fflush(stdout);
    if (dump_) std::printf("%s", dump_().c_str());
    std::printf("threads of the hung process:\n%s", thread_stacks().c_str());
    std::printf("%s", kernel_trace_tail().c_str());
    std::printf("%s\n", replay_.c_str());
    std::printf("@@iouloop-test FAIL %s: %s (case %llu hung)\n", program_invocation_short_name, test_name_.c_str(),
                index_);
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(3);
  }

  const std::string tag_, test_name_;
  const std::chrono::milliseconds limit_;
  std::mutex m_;
  std::condition_variable cv_;
  bool quit_ = false, armed_ = false;
  unsigned long long index_ = 0;
  std::string description_, replay_, engine_, phase_;
  std::function<std::string()> dump_;
  std::chrono::steady_clock::time_point started_, deadline_;
  std::thread thread_;
};

}  // namespace testwatch
