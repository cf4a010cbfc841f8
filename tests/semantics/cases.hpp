// Helpers and policies of the loop-semantics table (tests/semantics/table.hpp:
// one TEST_CASE per rule of io_uring/loop.c, docs/semantics.md lists them),
// which every engine runs unchanged:
//
//   #define IOULOOP_RUNNER userspace_runner   // tests/semantics_userspace_test.cc
//   #define IOULOOP_RUNNER bpf_runner         // tests/semantics_bpf_test.cc, in the VM
//   #include "tests/semantics/table.hpp"
//
// A runner (tests/support/runners.hpp) has `session<Policy>`: a ring made
// with the given ring_options, a param region, and `run()` = one
// io_uring_enter of the loop.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <atomic>
#include <cerrno>
#include <functional>
#include <initializer_list>
#include <thread>

#include "iouloop/iouloop.hpp"
#include "tests/semantics/policies.hpp"
#include "tests/support/signals.hpp"

namespace sem_test {

using iouloop_test::after_ms;
using iouloop_test::signal_after;
using iouloop_test::signal_storm;
using iouloop_test::watch;

inline iouloop::ring_options small_cq() {
  iouloop::ring_options o;
  o.sq_entries = 8;
  o.cq_entries = 16;
  return o;
}

}  // namespace sem_test
