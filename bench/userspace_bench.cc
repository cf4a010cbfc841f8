// The userspace engine against a hand-written liburing loop doing the same
// work, in the same run: a NOP chain with 1 and with 32 in flight, and a
// file copy. Prints ops/s for each and the ratio (goal: engine >= 0.95x).
//
//   bazel run -c opt //bench:userspace_bench [-- --nops N --copy-mib M --rounds R]
#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "examples/cp/cp_policy.hpp"
#include "examples/nop/nop_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "iouloop/probe.hpp"
#include "tests/support/files.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

constexpr unsigned ring_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_NO_SQARRAY;

struct uring {
  io_uring r;
  explicit uring(unsigned entries = 64) {
    io_uring_params p{};
    p.flags = ring_flags;
    int e = io_uring_queue_init_params(entries, &r, &p);
    if (e < 0) {
      std::fprintf(stderr, "io_uring_queue_init_params: %s\n", std::strerror(-e));
      std::exit(1);
    }
  }
  ~uring() { io_uring_queue_exit(&r); }
};

// ---- NOP chain ----------------------------------------------------------------
double nops_liburing(unsigned total, unsigned depth) {
  uring u;
  unsigned submitted = 0, completed = 0;
  auto t0 = clock_type::now();
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
    io_uring_for_each_cqe(&u.r, head, c) { n++; }
    io_uring_cq_advance(&u.r, n);
    completed += n;
  }
  return total / seconds_since(t0);
}

double nops_engine(unsigned total, unsigned depth, unsigned flags = iouloop::ring_options{}.flags) {
  iouloop::ring_options o;
  o.flags = flags;
  iouloop::ring r(o);
  iouloop::param_region<nop::policy> p(nop::params{total, depth, 0, 0, 0});
  iouloop::userspace_engine<nop::policy> e(r, p);
  auto t0 = clock_type::now();
  int ret = e.run();
  double rate = total / seconds_since(t0);
  if (ret != 0 || p->completed != total) {
    std::fprintf(stderr, "engine NOP run failed: ret %d, completed %u\n", ret, p->completed);
    std::exit(1);
  }
  return rate;
}

// ---- file copy ------------------------------------------------------------------
struct copy_files {
  testfiles::temp_file in, out;
  size_t size;
  copy_files(size_t bytes) : in("bench-in", testfiles::pattern(bytes, 7)), out("bench-out"), size(bytes) {}
  void check() const {
    if (out.read_all() != testfiles::pattern(size, 7)) {
      std::fprintf(stderr, "copy produced wrong bytes\n");
      std::exit(1);
    }
    if (ftruncate(out.fd(), 0) != 0) std::exit(1);
  }
};

// The same scheme as cp::policy: linked read->write per block, reads skip
// their CQE on success, `depth` blocks in flight.
double copy_liburing(copy_files& f, unsigned block, unsigned depth) {
  uring u;
  testfiles::buffers bufs(size_t(block) * depth);
  std::vector<unsigned> free_slots;
  for (unsigned i = depth; i-- > 0;) free_slots.push_back(i);
  std::vector<unsigned> slot_len(depth);
  size_t next = 0, copied = 0;
  unsigned in_flight = 0;
  auto t0 = clock_type::now();
  while (copied < f.size) {
    while (next < f.size && !free_slots.empty() && io_uring_sq_space_left(&u.r) >= 2) {
      unsigned slot = free_slots.back();
      free_slots.pop_back();
      unsigned len = unsigned(std::min<size_t>(block, f.size - next));
      char* buf = reinterpret_cast<char*>(bufs.addr().raw()) + size_t(slot) * block;
      io_uring_sqe* r = io_uring_get_sqe(&u.r);
      io_uring_prep_read(r, f.in.fd(), buf, len, next);
      r->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(r, (1ull << 56) | slot);
      io_uring_sqe* w = io_uring_get_sqe(&u.r);
      io_uring_prep_write(w, f.out.fd(), buf, len, next);
      io_uring_sqe_set_data64(w, (2ull << 56) | slot);
      slot_len[slot] = len;
      next += len;
      in_flight++;
    }
    io_uring_submit_and_wait(&u.r, 1);
    unsigned head, n = 0;
    io_uring_cqe* c;
    io_uring_for_each_cqe(&u.r, head, c) {
      n++;
      unsigned slot = unsigned(c->user_data & 0xffffffff);
      if ((c->user_data >> 56) == 2) {
        if (c->res != int(slot_len[slot])) {
          std::fprintf(stderr, "liburing copy: write res %d\n", c->res);
          std::exit(1);
        }
        copied += slot_len[slot];
        free_slots.push_back(slot);
        in_flight--;
      } else {
        std::fprintf(stderr, "liburing copy: read failed %d\n", c->res);
        std::exit(1);
      }
    }
    io_uring_cq_advance(&u.r, n);
  }
  double rate = (f.size / double(block)) / seconds_since(t0);
  f.check();
  return rate;
}

double copy_engine(copy_files& f, unsigned block, unsigned depth) {
  iouloop::ring r;
  testfiles::buffers bufs(size_t(block) * depth);
  iouloop::param_region<cp::policy> p(cp::make_params(f.in.fd(), f.out.fd(), f.size, bufs.addr(), block, depth));
  iouloop::userspace_engine<cp::policy> e(r, p);
  auto t0 = clock_type::now();
  int ret = e.run();
  double rate = (f.size / double(block)) / seconds_since(t0);
  if (ret != 0 || p->copied != f.size) {
    std::fprintf(stderr, "engine copy failed: ret %d (%s), copied %llu\n", ret,
                 iouloop::describe(e.exit(), ret).c_str(), p->copied);
    std::exit(1);
  }
  f.check();
  return rate;
}

// Best of `rounds`, alternating the two sides so drift hits both.
template <class A, class B>
void compare(const char* what, const char* unit, int rounds, A hand, B engine) {
  double best_hand = 0, best_engine = 0;
  for (int i = 0; i < rounds; ++i) {
    best_hand = std::max(best_hand, hand());
    best_engine = std::max(best_engine, engine());
  }
  std::printf("%-28s liburing %12.0f %s   engine %12.0f %s   ratio %.3f\n", what, best_hand, unit, best_engine, unit,
              best_engine / best_hand);
}

}  // namespace

int main(int argc, char** argv) {
  unsigned nops = 1000000, copy_mib = 256, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    unsigned v = unsigned(std::strtoul(argv[i + 1], nullptr, 10));
    if (a == "--nops")
      nops = v;
    else if (a == "--copy-mib")
      copy_mib = v;
    else if (a == "--rounds")
      rounds = v;
    else {
      std::fprintf(stderr, "usage: %s [--nops N] [--copy-mib M] [--rounds R]\n", argv[0]);
      return 2;
    }
  }
  std::printf("userspace engine vs hand-written liburing loop (best of %u rounds; kernel %s)\n", rounds,
              iouloop::probe().kernel.c_str());
  compare(
      "NOP chain, 1 in flight", "ops/s", rounds, [&] { return nops_liburing(nops, 1); },
      [&] { return nops_engine(nops, 1); });
  compare(
      "NOP chain, 32 in flight", "ops/s", rounds, [&] { return nops_liburing(nops, 32); },
      [&] { return nops_engine(nops, 32); });
  // What a ring without IORING_SETUP_TASKRUN_FLAG costs the engine: it runs
  // task work with a system call on every step that does not sleep, as the
  // kernel's loop runs it every iteration (docs/semantics.md rule 15).
  const unsigned no_flag = iouloop::ring_options{}.flags & ~iouloop::abi::setup::taskrun_flag;
  {
    double with = 0, without = 0;
    for (unsigned i = 0; i < rounds; ++i) {
      with = std::max(with, nops_engine(nops, 1));
      without = std::max(without, nops_engine(nops, 1, no_flag));
    }
    std::printf("%-28s with TASKRUN_FLAG %9.0f ops/s   without %9.0f ops/s   ratio %.3f\n", "engine, NOP chain, 1",
                with, without, without / with);
  }
  copy_files f(size_t(copy_mib) << 20);
  compare(
      "file copy, 64 KiB x 16", "blk/s", rounds, [&] { return copy_liburing(f, 65536, 16); },
      [&] { return copy_engine(f, 65536, 16); });
  compare(
      "file copy, 4 KiB x 32", "blk/s", rounds, [&] { return copy_liburing(f, 4096, 32); },
      [&] { return copy_engine(f, 4096, 32); });
  return 0;
}
