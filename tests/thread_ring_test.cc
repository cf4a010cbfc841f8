// The userspace engine names its ring by an index registered for the running
// thread (IORING_REGISTER_RING_FDS), so that its io_uring_enter calls skip the
// fd look-up: taken when a run starts, given back when it ends, and not
// needed for the run to work (detail::thread_ring, iouloop/engine/userspace.hpp).
//
// What a test can see of it is the thread's 16 slots (IO_RINGFD_REG_MAX,
// io_uring/register.c io_ringfd_register): free_slots() takes every free one
// and gives them back.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>

#include "iouloop/engine/userspace.hpp"
#include "tests/support/runners.hpp"

namespace {
using namespace iouloop;

constexpr int thread_slots = 16;  // IO_RINGFD_REG_MAX

// Takes every free registered-ring slot of the calling thread until
// destroyed or released; n is how many (-EBUSY when none was free).
struct all_slots_taken {
  explicit all_slots_taken(int ring_fd) : fd(ring_fd) {
    for (auto& e : u) e = {~0u, 0, static_cast<u64>(ring_fd)};
    n = sys::io_uring_register(fd, abi::register_ring_fds, u, thread_slots);
  }
  ~all_slots_taken() { release(); }
  // Gives them back; returns how many the kernel took back.
  int release() {
    if (n <= 0) return 0;
    for (auto& e : u) e.data = 0;  // io_ringfd_unregister: -EINVAL otherwise
    const int r = sys::io_uring_register(fd, abi::unregister_ring_fds, u, u32(n));
    n = 0;
    return r;
  }
  int fd, n;
  abi::rsrc_update u[thread_slots];
};

// How many of the calling thread's registered-ring slots are free, or
// -errno if the kernel has no such slots (before Linux 5.18).
int free_slots(int ring_fd) {
  all_slots_taken taken(ring_fd);
  const int n = taken.n == -EBUSY ? 0 : taken.n;  // none free: the first entry fails
  if (n > 0) REQUIRE(taken.release() == n);
  return n;
}

struct params {
  s32 ring_fd;   // set by the host
  s32 close_fd;  // set by the host: closed by step 2 if not -1
  u32 limit;     // steps before STOP
  u32 steps;
  u32 completed;
  s32 free_seen;  // free_slots() in step 1
};

// One NOP per step, `limit` steps; looks at the thread's slots in step 1
// and closes close_fd in step 2. Host only: it makes system calls.
struct nops_and_look {
  using params_type = params;
  template <class Loop>
  static int step(Loop& l) {
    params& p = l.params;
    for (cqe_view c : l.cq.template batch<4>()) {
      if (c.res() == 0) p.completed++;
    }
    if (++p.steps > p.limit) return loop_stop;
    if (p.steps == 1) p.free_seen = free_slots(p.ring_fd);
    if (p.steps == 2 && p.close_fd >= 0) ::close(p.close_fd);
    if (abi::sqe* s = l.sq.next()) prep_nop(*s, udata{});
    l.submit();
    l.wait_cqes(1);
    return loop_continue;
  }
};

void require_ring_slots(int ring_fd) {
  const int f = free_slots(ring_fd);
  if (f < 0) SKIP("this kernel has no registered ring fds (IORING_REGISTER_RING_FDS, Linux 5.18+): " << f);
}
}  // namespace

TEST_CASE("thread ring: a run holds one of the thread's slots and gives it back", "[thread-ring]") {
  userspace_runner::session<nops_and_look> s;
  const int fd = s.ring().fd();
  require_ring_slots(fd);
  REQUIRE(free_slots(fd) == thread_slots);
  s.params() = params{fd, -1, 50, 0, 0, -1};
  REQUIRE(s.run() == 0);
  CHECK(s.params().free_seen == thread_slots - 1);  // the run's own
  CHECK(s.params().completed == 50);
  CHECK(free_slots(fd) == thread_slots);  // given back
  // Again, as many times as there are slots: none is left behind.
  for (int i = 0; i < thread_slots + 1; ++i) {
    s.params().steps = 0;
    REQUIRE(s.run() == 0);
  }
  CHECK(s.params().free_seen == thread_slots - 1);
  CHECK(free_slots(fd) == thread_slots);
}

TEST_CASE("thread ring: with every slot taken the run goes on the fd", "[thread-ring]") {
  userspace_runner::session<nops_and_look> s;
  const int fd = s.ring().fd();
  require_ring_slots(fd);
  all_slots_taken taken(fd);
  REQUIRE(taken.n == thread_slots);
  s.params() = params{fd, -1, 50, 0, 0, -1};
  REQUIRE(s.run() == 0);
  CHECK(s.params().free_seen == 0);
  CHECK(s.params().completed == 50);
}

TEST_CASE("thread ring: the ring's fd closed during a run; the run goes on, as the kernel's loop does",
          "[thread-ring]") {
  // io_uring/io_uring.c io_uring_enter: the ring's file is looked up once
  // (fdget, or the thread's registered ring) and held until the call
  // returns; io_run_loop runs inside that one call, so closing the fd does
  // not end it. The userspace engine holds the file the same way through
  // its registered index. The run after it says -EBADF, as io_uring_enter
  // on a closed fd does.
  userspace_runner::session<nops_and_look> s;
  const int fd = s.ring().fd();
  require_ring_slots(fd);
  const int keep = ::dup(fd);  // the ring stays alive; the number goes
  REQUIRE(keep >= 0);
  s.params() = params{keep, fd, 50, 0, 0, -1};
  CHECK(s.run() == 0);
  CHECK(s.params().steps == 51);
  CHECK(s.params().completed == 50);
  CHECK(::fcntl(fd, F_GETFD) == -1);  // it was closed
  CHECK(s.run() == -EBADF);
  CHECK(free_slots(keep) == thread_slots);  // the index went with the run
  REQUIRE(::dup2(keep, fd) == fd);          // for the ring's destructor
  ::close(keep);
}

TEST_CASE("thread ring: with every slot taken, the fd closed during a run ends it with -EBADF", "[thread-ring]") {
  // The engine's fallback, as its file banner says: each system call looks
  // the fd up again. (What the case above would see without the index.)
  userspace_runner::session<nops_and_look> s;
  const int fd = s.ring().fd();
  require_ring_slots(fd);
  const int keep = ::dup(fd);
  REQUIRE(keep >= 0);
  {
    all_slots_taken taken(keep);
    REQUIRE(taken.n == thread_slots);
    s.params() = params{keep, fd, 50, 0, 0, -1};
    CHECK(s.run() == -EBADF);
    CHECK(s.params().steps == 2);
  }
  CHECK(free_slots(keep) == thread_slots);
  REQUIRE(::dup2(keep, fd) == fd);
  ::close(keep);
}

// sys::io_uring_enter makes the system call itself on x86-64 (the
// `syscall` instruction, not libc's syscall()): what it returns must be what
// the kernel's io_uring_enter (io_uring/io_uring.c) returns, the count or
// -errno, by the fd and by the registered index, and errno must not move.
TEST_CASE("sys::io_uring_enter: the count or -errno, by fd or by registered index; errno untouched", "[thread-ring]") {
  ring r;
  errno = 4321;
  CHECK(sys::io_uring_enter(-1, 0, 0, 0, nullptr, 0) == -EBADF);
  CHECK(sys::io_uring_enter(r.fd(), 0, 0, 1u << 31, nullptr, 0) == -EINVAL);  // no such flag
  const int not_a_ring = ::open("/dev/null", O_RDONLY);
  REQUIRE(not_a_ring >= 0);
  CHECK(sys::io_uring_enter(not_a_ring, 0, 0, 0, nullptr, 0) == -EOPNOTSUPP);  // io_is_uring_fops
  ::close(not_a_ring);
  CHECK(errno == 4321);

  // Three NOPs submitted and waited for in one call: 3, and three CQEs.
  sq_ring sq(r.rings(), r.sqes(), r.layout());
  cq_ring cq(r.rings(), r.layout());
  for (u32 i = 0; i < 3; ++i) prep_nop(*sq.next(), udata::from_raw(i));
  CHECK(sys::io_uring_enter(r.fd(), sq.flush(), 3, abi::enter::getevents, nullptr, 0) == 3);
  CHECK(cq.ready() == 3);
  cq.advance(3);

  // By the registered index: the same, with IORING_ENTER_REGISTERED_RING.
  const int f = free_slots(r.fd());
  if (f <= 0) SKIP("this kernel has no free registered ring fds (IORING_REGISTER_RING_FDS, Linux 5.18+): " << f);
  abi::rsrc_update u{~0u, 0, static_cast<u64>(static_cast<u32>(r.fd()))};
  REQUIRE(sys::io_uring_register(r.fd(), abi::register_ring_fds, &u, 1) == 1);
  sq.submitted();
  prep_nop(*sq.next(), udata::from_raw(7));
  CHECK(sys::io_uring_enter(int(u.offset), sq.flush(), 1, abi::enter::getevents | abi::enter::registered_ring, nullptr,
                            0) == 1);
  CHECK(cq.ready() == 1);
  cq.advance(1);
  // io_uring_ctx_get_file: a free slot, -EBADF; past the 16 slots, -EINVAL.
  CHECK(sys::io_uring_enter(int(u.offset) ^ 1, 0, 0, abi::enter::registered_ring, nullptr, 0) == -EBADF);
  CHECK(sys::io_uring_enter(thread_slots, 0, 0, abi::enter::registered_ring, nullptr, 0) == -EINVAL);
  u.data = 0;
  CHECK(sys::io_uring_register(r.fd(), abi::unregister_ring_fds, &u, 1) == 1);
  CHECK(errno == 4321);
}
