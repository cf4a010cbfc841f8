// iouloop timer: periodic work with timeouts and linked requests, on the best
// engine the kernel has (or the one asked for).
//
//   timer [--engine auto|userspace|bpf] [--period-ms P] [--ticks N]
//         [--read-timeout-ms T] [--log FILE]
//
// Every P ms a tick appends "tick NNNNNN\n" to FILE (a write linked to an
// fsync) and reads a pipe with a linked timeout of T ms. A thread feeds the
// pipe on odd ticks, so those reads get data and the others time out.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "examples/timer/timer_bpf.bpf.h"
#include "examples/timer/timer_policy.hpp"
#include "examples/common/cli.hpp"
#include "iouloop/engine/select.hpp"

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--engine auto|userspace|bpf] [--period-ms P] [--ticks N] [--read-timeout-ms T] "
               "[--log FILE]\n"
               "  period: 2 .. 3600000 ms (default 100); ticks: 1 .. %u (default 10);\n"
               "  read timeout: 1 .. period-1 ms (default period/2); log: default $TMPDIR/iouloop-timer.log\n",
               argv0, timer::max_ticks);
  return 2;
}

void check_range(const char* flag, unsigned long v, unsigned long lo, unsigned long hi) {
  if (v < lo || v > hi)
    throw iouloop::error(EINVAL, std::string(flag) + " " + std::to_string(v) + " is outside " + std::to_string(lo) +
                                     " .. " + std::to_string(hi));
}

// Writes a line into the pipe each time an odd tick fires. The tick counter
// lives in the param region, which the loop (in user space or in the kernel)
// updates while this thread reads it.
class feeder {
 public:
  feeder(int fd, const timer::params& p, unsigned poll_ms)
      : thread_([this, fd, &p, poll_ms] {
          unsigned seen = 0;
          while (!stop_.load(std::memory_order_relaxed)) {
            const unsigned t = __atomic_load_n(&p.ticked, __ATOMIC_ACQUIRE);
            if (t != seen && t % 2 == 1) {
              const std::string line = "data for tick " + std::to_string(t) + "\n";
              if (::write(fd, line.data(), line.size()) > 0) fed_.fetch_add(1);
            }
            seen = t;
            std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
          }
        }) {}
  feeder(const feeder&) = delete;
  feeder& operator=(const feeder&) = delete;
  ~feeder() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  unsigned fed() const { return fed_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> fed_{0};
  std::thread thread_;  // last: starts once the flags exist
};

// At most `limit` bytes of `path` (a device like /dev/zero never ends).
std::string read_file(const std::string& path, size_t limit) {
  std::string s;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw iouloop::error(errno, "cannot reopen " + path + " to check it");
  char buf[4096];
  for (ssize_t n; s.size() < limit && (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
  ::close(fd);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string engine = "auto", log_path;
  unsigned long period = 100, ticks = 10, read_timeout = 0;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&](const char* flag) { return example::value_of(argc, argv, i, flag); };
      if (a == "--engine")
        engine = value("--engine");
      else if (a == "--period-ms")
        period = example::number("--period-ms", value("--period-ms"));
      else if (a == "--ticks")
        ticks = example::number("--ticks", value("--ticks"));
      else if (a == "--read-timeout-ms")
        read_timeout = example::number("--read-timeout-ms", value("--read-timeout-ms"));
      else if (a == "--log")
        log_path = value("--log");
      else if (a == "-h" || a == "--help")
        return usage(argv[0]);
      else
        throw iouloop::error(EINVAL, "unknown argument '" + a + "' (see --help)");
    }
    check_range("--period-ms", period, 2, 3600000);
    check_range("--ticks", ticks, 1, timer::max_ticks);
    if (read_timeout == 0) read_timeout = period / 2;
    // A read must end (data or timeout) before the next tick starts another.
    check_range("--read-timeout-ms", read_timeout, 1, period - 1);
    if (log_path.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      log_path = std::string(tmp ? tmp : "/tmp") + "/iouloop-timer.log";
    }

    iouloop::engine_choice choice = iouloop::choose_engine(iouloop::parse_engine(engine));
    std::printf("engine: %s\n", choice.describe().c_str());

    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) throw iouloop::error(errno, "cannot open the log " + log_path + " for writing (use --log FILE)");
    int pipe_fds[2];
    // Blocking on purpose: on an O_NONBLOCK pipe an empty read fails at once
    // with EAGAIN instead of waiting for its linked timeout.
    struct stat st{};
    const bool regular = ::fstat(log, &st) == 0 && S_ISREG(st.st_mode);
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw iouloop::error(errno, "cannot create the input pipe");

    iouloop::ring ring;
    iouloop::param_region<timer::policy> params(
        timer::make_params(log, pipe_fds[0], iouloop::u32(period), iouloop::u32(read_timeout), iouloop::u32(ticks)));
    iouloop::any_engine<timer::policy> e(choice, ring, params, timer_bpf::programs::timer{});
    std::printf("timer: %lu ticks every %lu ms; reads time out after %lu ms; log %s\n", ticks, period, read_timeout,
                log_path.c_str());

    const auto t0 = std::chrono::steady_clock::now();
    int ret;
    unsigned fed;
    {
      // Poll often enough to feed a read well before its timeout.
      feeder f(pipe_fds[1], *params, unsigned(std::clamp(read_timeout / 4, 1ul, 10ul)));
      ret = e.run();
      f.stop();
      fed = f.fed();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::close(log);
    const timer::params& p = *params;
    if (ret == -EINTR) throw iouloop::error(EINTR, "interrupted after " + std::to_string(p.ticked) + " ticks");
    if (ret < 0 && p.errors == 0) throw iouloop::error(-ret, iouloop::describe(e.exit(), ret));

    std::string expect;
    char line[32];
    for (unsigned long n = 1; n <= ticks; ++n) {
      std::snprintf(line, sizeof line, "tick %06lu\n", n);
      expect += line;
    }
    const bool log_ok = !regular || read_file(log_path, expect.size() + 1) == expect;

    std::printf("ticks    %u in %.3f s (at least %.3f s by design)\n", p.ticked, secs, ticks * period / 1000.0);
    std::printf("records  %u written, %u fsynced, %u dropped; log %s\n", p.written, p.synced, p.records_dropped,
                !regular ? "not checked (not a regular file)"
                : log_ok ? "verified"
                         : "DIFFERS from the expected records");
    std::printf(
        "reads    %u with data, %llu bytes (their link timeouts: %u -ECANCELED); "
        "%u timed out, -ECANCELED (their link timeouts: %u -ETIME); the feeder wrote %u times\n",
        p.reads_data, p.bytes_read, p.timeouts_cancelled, p.reads_timed_out, p.timeouts_fired, fed);
    std::printf("steps    %u (the loop sleeps between completions)\n", p.steps);
    std::printf("errors   %u\n", p.errors);
    if (p.errors)
      throw iouloop::error(-e.exit().error, std::to_string(p.errors) + " requests failed (the first: " +
                                                iouloop::describe(e.exit(), e.exit().error) + "); is " + log_path +
                                                " on a file system that allows write and fsync?");
    if (!log_ok) throw iouloop::error(EIO, "the log " + log_path + " does not hold the expected records");
    return 0;
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "timer: %s\n", e.what());
    return 1;
  }
}
