// iouperf: one workload per run, measured between two insn_count markers
// (see marker.h). Built static by Bazel (//bench/icount:iouperf) and run inside
// the VM by bench/icount.sh.
//
//   iouperf ID nop-bpf|nop-user|nop-kmod|nop-liburing N DEPTH     NOP chain, DEPTH in flight
//   iouperf ID nop-bpf-any|nop-c|nop-byhand N DEPTH
//                                   the same chain on the BPF engine, run by the
//                                   policy's own program where nop-bpf gets its ring
//                                   variant (IOULOOP_BPF_RING_VARIANT), or by the NOP
//                                   step written in C against the raw ABI
//                                   (bench/nop_c.bpf.c) or in C++ without the
//                                   combinators (nop::nop_by_hand); these three read
//                                   the ring's sizes from rodata
//   iouperf ID floor N BATCH                             N NOPs, BATCH per io_uring_enter (wait all)
//   iouperf ID cp-bpf|cp-user|cp-liburing MIB BLOCK DEPTH [over]
//                                   file copy on tmpfs (/tmp) to a new file, or with
//                                   `over` onto an existing file of the same size
//                                   (its pages allocated before the region); the
//                                   source is /tmp/cp-src if it has MIB MiB
//   iouperf ID echo-bpf|echo-user CONNS REQUESTS BYTES
//                                   examples/echo's server on loopback; CONNS client
//                                   threads (started before the region) each send
//                                   REQUESTS requests of BYTES and read each echo back
//                                   before the next; counted per request, clients included
//   iouperf ID timer-bpf|timer-user TICKS PERIOD_MS
//                                   examples/timer's policy: a timeout per tick, a
//                                   record written and fsynced, a read of an empty
//                                   pipe with a linked timeout (half a period)
//
// Only the run itself lies between the markers: engine.run() for iouloop
// (the BPF object is loaded and attached before), the submit/reap loop for
// liburing. Ring set-up, file creation and the checks afterwards are
// outside. Prints one "@@iouperf region" line (marker.h).
#include <fcntl.h>
#include <linux/bpf.h>
#include <liburing.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/nop_c_bpf.bpf.h"
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
#include "iouloop/engine/kernel.hpp"
#include "iouloop/iouloop.hpp"
#include "kernel/kmod/native_policies.hpp"
#include "bench/icount/marker.h"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

namespace {

[[noreturn]] void die(const char* what, long v = 0) {
  std::fprintf(stderr, "iouperf: %s (%ld)\n", what, v);
  std::exit(1);
}

// Puts the kernel's tracing in the state liburing's bpf_cp leaves it in,
// before the first row of a boot that runs bpf_cp (icount.sh's prepare
// script). The verifier,
// asked for the bpf_trace_printk helper (bpf_get_trace_printk_proto), enables
// the bpf_trace_printk trace event, and with it the scheduler's command-line
// recording (tracing_start_cmdline_record): from then on, for the rest of the
// boot, every context switch runs probe_sched_switch and every wake-up
// probe_sched_wakeup, about 170 instructions per 4 KiB block of a copy.
// bpf_cp's program calls bpf_printk, so without this the rows before its
// first run would run without them and every other row with them
// (docs/cost.md, "A bias in the harness, and its fix"). Loading this
// program is enough; it never runs.
void trace_printk_state() {
  // bpf_trace_printk("hi\n", 4); return 0;
  const bpf_insn prog[] = {
      {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0x000a6968},   // *(u32 *)(r10 - 4) = "hi\n"
      {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_10, 0, 0},  // r1 = r10
      {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, -4},          // r1 -= 4
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 4},           // r2 = 4
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_trace_printk},        // call bpf_trace_printk
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},           // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                            // exit
  };
  bpf_attr a{};
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<unsigned long>(prog);
  a.insn_cnt = sizeof(prog) / sizeof(prog[0]);
  a.license = reinterpret_cast<unsigned long>("GPL");
  long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
  if (fd < 0) die("trace-printk-state: loading a program that calls bpf_trace_printk (needs CAP_PERFMON)", -errno);
  close(int(fd));
  std::printf("iouperf: trace-printk-state: bpf_trace_printk's trace event is on for this boot\n");
}

// A measured region (marker.h): begin() reads /proc counters and the clock,
// then executes the start marker; end() the end marker, then the clock.
struct region {
  iou_region r{};
  unsigned id;
  explicit region(unsigned i) : id(i) {}
  void begin() { iou_region_begin(&r, id); }
  void end() { iou_region_end(&r); }
  void report(const std::string& label, unsigned long long ops) const { iou_region_report(&r, label.c_str(), ops); }
};

// The same ring flags as iouloop::ring's defaults, for the liburing loops.
constexpr unsigned ring_flags =
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_NO_SQARRAY | IORING_SETUP_TASKRUN_FLAG;

struct uring {
  io_uring r;
  explicit uring(unsigned entries) {
    io_uring_params p{};
    p.flags = ring_flags;
    int e = io_uring_queue_init_params(entries, &r, &p);
    if (e < 0) die("io_uring_queue_init_params", e);
  }
  ~uring() { io_uring_queue_exit(&r); }
};

// ---- NOPs ------------------------------------------------------------------
template <class Engine, class... Extra>
void nop_engine(region& rg, const char* label, unsigned total, unsigned depth, Extra&&... extra) {
  iouloop::ring r;
  iouloop::param_region<nop::policy> p(nop::params{total, depth, 0, 0, 0});
  Engine e(r, p, extra...);
  rg.begin();
  int ret = e.run();
  rg.end();
  if (ret != 0 || p->completed != total || p->errors) die("NOP run failed", ret);
  rg.report(label, total);
}

void nop_liburing(region& rg, unsigned total, unsigned depth) {
  uring u(64);
  unsigned submitted = 0, completed = 0, errors = 0;
  rg.begin();
  while (completed < total) {
    while (submitted < total && submitted - completed < depth) {
      io_uring_sqe* s = io_uring_get_sqe(&u.r);
      if (!s) break;
      io_uring_prep_nop(s);
      io_uring_sqe_set_data64(s, submitted++);
    }
    io_uring_submit_and_wait(&u.r, 1);
    unsigned head, n = 0;
    io_uring_cqe* c;
    io_uring_for_each_cqe(&u.r, head, c) {
      n++;
      if (c->res < 0) errors++;
    }
    io_uring_cq_advance(&u.r, n);
    completed += n;
  }
  rg.end();
  if (errors) die("liburing NOP errors", errors);
  rg.report("nop-liburing-d" + std::to_string(depth), total);
}

// The floor: BATCH NOPs per io_uring_enter, waiting for all of them.
void nop_floor(region& rg, unsigned total, unsigned batch) {
  uring u(batch);
  unsigned done = 0, errors = 0;
  rg.begin();
  while (done < total) {
    unsigned b = std::min(batch, total - done);
    for (unsigned i = 0; i < b; ++i) {
      io_uring_sqe* s = io_uring_get_sqe(&u.r);
      io_uring_prep_nop(s);
      io_uring_sqe_set_data64(s, done + i);
    }
    io_uring_submit_and_wait(&u.r, b);
    unsigned head, n = 0;
    io_uring_cqe* c;
    io_uring_for_each_cqe(&u.r, head, c) {
      n++;
      if (c->res < 0) errors++;
    }
    io_uring_cq_advance(&u.r, n);
    done += n;
  }
  rg.end();
  if (errors) die("floor NOP errors", errors);
  rg.report("floor-b" + std::to_string(batch), total);
}

// ---- file copy ---------------------------------------------------------------
std::vector<unsigned char> pattern(size_t n) {
  std::vector<unsigned char> v(n);
  unsigned long long x = 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v[i] = static_cast<unsigned char>(x);
  }
  return v;
}

// The source is /tmp/cp-src when it holds exactly the bytes to copy: the
// file bench/icount.sh writes once per boot, the one liburing's bpf_cp rows
// copy too, so that every copy row starts from the same page cache and page
// allocator state (writing a fresh 16 MiB source, and holding its pattern,
// just before the region made the destination's page allocations dearer:
// __rmqueue_pcplist). Otherwise a source of its own, removed afterwards.
struct copy_files {
  std::string src = "/tmp/cp-src", dst = "/tmp/iouperf-dst";
  bool own_src = false;
  int in = -1, out = -1;
  bool over;
  copy_files(size_t bytes, bool over_existing) : over(over_existing) {
    struct stat st{};
    if (::stat(src.c_str(), &st) != 0 || size_t(st.st_size) != bytes) {
      src = "/tmp/iouperf-src";
      own_src = true;
      const std::vector<unsigned char> data = pattern(bytes);
      int fd = ::open(src.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || ::write(fd, data.data(), data.size()) != ssize_t(data.size())) die("cannot write the source");
      ::close(fd);
    }
    if (over) {  // the destination exists with all its pages: the copy allocates none
      std::vector<unsigned char> zeros(bytes);
      int fd = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::write(fd, zeros.data(), zeros.size()) != ssize_t(zeros.size()))
        die("cannot write the destination");
      ::close(fd);
    }
    in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    out = ::open(dst.c_str(), O_WRONLY | O_CREAT | (over ? 0 : O_TRUNC) | O_CLOEXEC, 0644);
    if (in < 0 || out < 0) die("cannot open the files");
  }
  // The destination equals the source, byte for byte (after the region).
  void check() {
    const int a = ::open(src.c_str(), O_RDONLY), b = ::open(dst.c_str(), O_RDONLY);
    if (a < 0 || b < 0) die("cannot open the files to compare");
    std::vector<unsigned char> x(1 << 20), y(1 << 20);
    for (;;) {
      const ssize_t n = ::read(a, x.data(), x.size()), m = ::read(b, y.data(), y.size());
      if (n != m || n < 0 || std::memcmp(x.data(), y.data(), size_t(n)) != 0)
        die("the copy differs from the source", n);
      if (n == 0) break;
    }
    ::close(a);
    ::close(b);
  }
  ~copy_files() {
    ::close(in);
    ::close(out);
    if (own_src) ::unlink(src.c_str());
    ::unlink(dst.c_str());
  }
};

// Buffers touched once before the region (no first-touch page faults in it).
struct buffers {
  void* p;
  size_t n;
  explicit buffers(size_t bytes) : n(bytes) {
    p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) die("mmap of the buffers");
  }
  ~buffers() { ::munmap(p, n); }
  iouloop::uaddr addr() const { return iouloop::uaddr::of(p); }
};

std::string cp_label(const char* engine, unsigned block, unsigned depth, bool over) {
  return std::string("cp-") + engine + "-" + std::to_string(block >> 10) + "k-d" + std::to_string(depth) +
         (over ? "-over" : "");
}

template <class Engine, class Policy = cp::policy, class... Extra>
void cp_engine(region& rg, const char* engine, size_t bytes, unsigned block, unsigned depth, bool over,
               Extra&&... extra) {
  copy_files f(bytes, over);
  buffers bufs(size_t(block) * depth);
  iouloop::ring r;
  iouloop::param_region<Policy> p(cp::make_params(f.in, f.out, bytes, bufs.addr(), block, depth));
  Engine e(r, p, extra...);
  rg.begin();
  int ret = e.run();
  rg.end();
  if (ret != 0 || p->copied != bytes) die("copy failed", ret);
  f.check();
  rg.report(cp_label(engine, block, depth, over), bytes / block);
}

// The scheme of cp::policy written against liburing (as bench/userspace_bench.cc):
// linked read->write per block, reads skip their CQE on success.
void cp_liburing(region& rg, size_t bytes, unsigned block, unsigned depth, bool over) {
  copy_files f(bytes, over);
  buffers bufs(size_t(block) * depth);
  uring u(64);
  std::vector<unsigned> free_slots;
  for (unsigned i = depth; i-- > 0;) free_slots.push_back(i);
  std::vector<unsigned> slot_len(depth);
  size_t next = 0, copied = 0;
  rg.begin();
  while (copied < bytes) {
    while (next < bytes && !free_slots.empty() && io_uring_sq_space_left(&u.r) >= 2) {
      unsigned slot = free_slots.back();
      free_slots.pop_back();
      unsigned len = unsigned(std::min<size_t>(block, bytes - next));
      char* buf = static_cast<char*>(bufs.p) + size_t(slot) * block;
      io_uring_sqe* r = io_uring_get_sqe(&u.r);
      io_uring_prep_read(r, f.in, buf, len, next);
      r->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(r, (1ull << 56) | slot);
      io_uring_sqe* w = io_uring_get_sqe(&u.r);
      io_uring_prep_write(w, f.out, buf, len, next);
      io_uring_sqe_set_data64(w, (2ull << 56) | slot);
      slot_len[slot] = len;
      next += len;
    }
    io_uring_submit_and_wait(&u.r, 1);
    unsigned head, n = 0;
    io_uring_cqe* c;
    bool bad = false;
    io_uring_for_each_cqe(&u.r, head, c) {
      n++;
      unsigned slot = unsigned(c->user_data & 0xffffffff);
      if ((c->user_data >> 56) == 2 && c->res == int(slot_len[slot])) {
        copied += slot_len[slot];
        free_slots.push_back(slot);
      } else {
        bad = true;
      }
    }
    io_uring_cq_advance(&u.r, n);
    if (bad) die("liburing copy: a read or write failed");
  }
  rg.end();
  f.check();
  rg.report(cp_label("liburing", block, depth, over), bytes / block);
}

// ---- echo ------------------------------------------------------------------------
bool write_all(int fd, const unsigned char* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w, n -= size_t(w);
  }
  return true;
}
bool read_all(int fd, unsigned char* p, size_t n) {
  while (n) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r, n -= size_t(r);
  }
  return true;
}

// One client: connects (before the region), waits for a byte on `go`, then
// REQUESTS times sends BYTES and reads the echo back, checking it.
void echo_client(uint16_t port, int go, unsigned reqs, unsigned bytes, unsigned seed, std::atomic<int>& bad) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    bad++;
    if (s >= 0) ::close(s);
    return;
  }
  char c;
  if (::read(go, &c, 1) != 1) bad++;
  std::vector<unsigned char> out = pattern(bytes), in(bytes);
  for (unsigned i = 0; i < reqs; ++i) {
    out[0] = static_cast<unsigned char>(seed + i);
    if (!write_all(s, out.data(), bytes) || !read_all(s, in.data(), bytes) || in != out) {
      bad++;
      break;
    }
  }
  ::close(s);
}

template <class Engine, class... Extra>
void echo_engine(region& rg, const char* engine, unsigned conns, unsigned reqs, unsigned bytes, Extra&&... extra) {
  if (conns == 0 || conns > echo::max_conns || bytes > 16384) die("echo: 1..64 connections, at most 16384 bytes");
  echo_host::ensure_loopback();
  echo_host::listener lis(0);
  echo_host::slot_buffers bufs{conns, 16384};
  iouloop::ring r;
  iouloop::param_region<echo::policy> p(echo::make_params(lis.fd(), bufs.addr(), conns, 16384, conns));
  Engine e(r, p, extra...);
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) die("pipe");
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  for (unsigned i = 0; i < conns; ++i)
    clients.emplace_back(echo_client, lis.port(), go[0], reqs, bytes, i * 7919u, std::ref(bad));
  rg.begin();
  std::vector<char> start(conns, 'g');
  if (::write(go[1], start.data(), conns) != ssize_t(conns)) die("echo: cannot start the clients");
  int ret = e.run();
  rg.end();
  for (auto& t : clients) t.join();
  echo_host::close_open_slots(*p);
  lis.close();
  ::close(go[0]);
  ::close(go[1]);
  const unsigned long long want = 1ull * conns * reqs * bytes;
  if (ret != 0 || bad || p->closed != conns || p->bytes_echoed != want) die("echo run failed", ret ? ret : -long(bad));
  rg.report(std::string("echo-") + engine + "-c" + std::to_string(conns) + "-" + std::to_string(bytes),
            1ull * conns * reqs);
}

// ---- timer -------------------------------------------------------------------
// Per tick: idle time costs nothing here (-icount with sleep=off skips it), so
// the count is the work of a tick: timeout, write, fsync, read, link timeout.
template <class Engine, class... Extra>
void timer_engine(region& rg, const char* engine, unsigned ticks, unsigned period_ms, Extra&&... extra) {
  int log = ::open("/tmp/iouperf-timer.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int in[2];
  if (log < 0 || ::pipe2(in, O_CLOEXEC) != 0) die("cannot open the timer's log or pipe");
  {
    iouloop::ring r;
    iouloop::param_region<timer::policy> p(timer::make_params(log, in[0], period_ms, period_ms / 2, ticks));
    Engine e(r, p, extra...);
    rg.begin();
    int ret = e.run();
    rg.end();
    if (ret != 0 || p->ticked != ticks || p->errors) die("timer run failed", ret ? ret : -long(p->errors));
  }
  ::close(in[0]);
  ::close(in[1]);
  ::close(log);
  ::unlink("/tmp/iouperf-timer.log");
  rg.report(std::string("timer-") + engine + "-p" + std::to_string(period_ms), ticks);
}

unsigned arg(int argc, char** argv, int i, const char* what) {
  if (i >= argc) die(what);
  return unsigned(std::strtoul(argv[i], nullptr, 10));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "trace-printk-state") {
    trace_printk_state();
    return 0;
  }
  if (argc < 3) {
    std::fprintf(
        stderr,
        "usage: %s ID nop-bpf|nop-bpf-any|nop-c|nop-byhand|nop-user|nop-kmod|nop-liburing N DEPTH\n"
        "       %s ID floor N BATCH\n"
        "       %s ID cp-bpf[-unlinked|-serial]|cp-user[-unlinked|-serial]|cp-kmod|cp-liburing MIB BLOCK DEPTH [over]\n"
        "       %s ID echo-bpf|echo-user CONNS REQUESTS BYTES\n"
        "       %s ID timer-bpf|timer-user TICKS PERIOD_MS\n"
        "       %s trace-printk-state\n",
        argv[0], argv[0], argv[0], argv[0], argv[0], argv[0]);
    return 2;
  }
  region rg(arg(argc, argv, 1, "ID"));
  std::string w = argv[2];
  try {
    if (w == "nop-bpf" || w == "nop-bpf-any" || w == "nop-c" || w == "nop-byhand" || w == "nop-user" ||
        w == "nop-kmod" || w == "nop-liburing") {
      unsigned n = arg(argc, argv, 3, "N"), d = arg(argc, argv, 4, "DEPTH");
      if (w == "nop-bpf")
        nop_engine<iouloop::bpf_engine<nop::policy>>(rg, ("nop-bpf-d" + std::to_string(d)).c_str(), n, d,
                                                     nop_bpf::image(), std::string("nop"));
      else if (w == "nop-bpf-any")  // the same ring; the step that reads its sizes from rodata
        nop_engine<iouloop::bpf_engine<nop::policy>>(rg, ("nop-bpf-any-d" + std::to_string(d)).c_str(), n, d,
                                                     nop_bpf::image(), std::string("nop"), iouloop::no_ring_variant);
      else if (w == "nop-c")  // the same params and region; the engine loads it by name
        nop_engine<iouloop::bpf_engine<nop::policy>>(rg, ("nop-c-d" + std::to_string(d)).c_str(), n, d,
                                                     nop_c_bpf::image(), std::string("nop_c"));
      else if (w == "nop-byhand")
        nop_engine<iouloop::bpf_engine<nop::policy>>(rg, ("nop-byhand-d" + std::to_string(d)).c_str(), n, d,
                                                     nop_bpf::image(), std::string("nop_by_hand"));
      else if (w == "nop-kmod")  // nop::policy compiled into kernel/kmod's module (icount.sh --module)
        nop_engine<iouloop::kernel_engine<nop::policy>>(rg, ("nop-kmod-d" + std::to_string(d)).c_str(), n, d);
      else if (w == "nop-user")
        nop_engine<iouloop::userspace_engine<nop::policy>>(rg, ("nop-user-d" + std::to_string(d)).c_str(), n, d);
      else
        nop_liburing(rg, n, d);
    } else if (w == "floor") {
      nop_floor(rg, arg(argc, argv, 3, "N"), arg(argc, argv, 4, "BATCH"));
    } else if (w == "cp-bpf" || w == "cp-user" || w == "cp-kmod" || w == "cp-liburing" || w == "cp-bpf-unlinked" ||
               w == "cp-user-unlinked" || w == "cp-bpf-serial" || w == "cp-user-serial") {
      size_t bytes = size_t(arg(argc, argv, 3, "MIB")) << 20;
      unsigned block = arg(argc, argv, 4, "BLOCK"), depth = arg(argc, argv, 5, "DEPTH");
      bool over = argc > 6 && std::string(argv[6]) == "over";
      if (w == "cp-bpf-unlinked")
        cp_engine<iouloop::bpf_engine<cp::unlinked_policy>, cp::unlinked_policy>(
            rg, "bpf-unlinked", bytes, block, depth, over, cp_bpf::image(), std::string("cp_unlinked"));
      else if (w == "cp-user-unlinked")
        cp_engine<iouloop::userspace_engine<cp::unlinked_policy>, cp::unlinked_policy>(rg, "user-unlinked", bytes,
                                                                                       block, depth, over);
      else if (w == "cp-bpf-serial")
        cp_engine<iouloop::bpf_engine<cp::serial_policy>, cp::serial_policy>(
            rg, "bpf-serial", bytes, block, depth, over, cp_bpf::image(), std::string("cp_serial"));
      else if (w == "cp-user-serial")
        cp_engine<iouloop::userspace_engine<cp::serial_policy>, cp::serial_policy>(rg, "user-serial", bytes, block,
                                                                                   depth, over);
      else if (w == "cp-bpf")
        cp_engine<iouloop::bpf_engine<cp::policy>>(rg, "bpf", bytes, block, depth, over, cp_bpf::image(),
                                                   std::string("cp"));
      else if (w == "cp-user")
        cp_engine<iouloop::userspace_engine<cp::policy>>(rg, "user", bytes, block, depth, over);
      else if (w == "cp-kmod")  // cp::policy compiled into kernel/kmod's module (icount.sh --module)
        cp_engine<iouloop::kernel_engine<cp::policy>>(rg, "kmod", bytes, block, depth, over);
      else
        cp_liburing(rg, bytes, block, depth, over);
    } else if (w == "echo-bpf" || w == "echo-user") {
      unsigned conns = arg(argc, argv, 3, "CONNS"), reqs = arg(argc, argv, 4, "REQUESTS"),
               bytes = arg(argc, argv, 5, "BYTES");
      if (w == "echo-bpf")
        echo_engine<iouloop::bpf_engine<echo::policy>>(rg, "bpf", conns, reqs, bytes, echo_bpf::image(),
                                                       std::string("echo"));
      else
        echo_engine<iouloop::userspace_engine<echo::policy>>(rg, "user", conns, reqs, bytes);
    } else if (w == "timer-bpf" || w == "timer-user") {
      unsigned ticks = arg(argc, argv, 3, "TICKS"), period = arg(argc, argv, 4, "PERIOD_MS");
      if (w == "timer-bpf")
        timer_engine<iouloop::bpf_engine<timer::policy>>(rg, "bpf", ticks, period, timer_bpf::image(),
                                                         std::string("timer"));
      else
        timer_engine<iouloop::userspace_engine<timer::policy>>(rg, "user", ticks, period);
    } else {
      die("unknown workload");
    }
  } catch (const iouloop::error& e) {
    std::fprintf(stderr, "iouperf: %s\n", e.what());
    return 1;
  }
  return 0;
}
