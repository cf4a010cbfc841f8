// One NOP through liburing alone, for the tests that lend liburing's ring to
// a policy and then check liburing goes on with it (tests/liburing_test.cc,
// tests/liburing_bpf_test.cc). Returns the CQE's user_data, or ~0 on failure.
#pragma once

#include <liburing.h>

inline unsigned long long liburing_nop(io_uring& u, unsigned long long data) {
  io_uring_sqe* s = io_uring_get_sqe(&u);
  if (!s) return ~0ull;
  io_uring_prep_nop(s);
  io_uring_sqe_set_data64(s, data);
  if (io_uring_submit_and_wait(&u, 1) != 1) return ~0ull;
  io_uring_cqe* c = nullptr;
  if (io_uring_wait_cqe(&u, &c) != 0) return ~0ull;
  const unsigned long long got = c->res == 0 ? c->user_data : ~0ull;
  io_uring_cqe_seen(&u, c);
  return got;
}
