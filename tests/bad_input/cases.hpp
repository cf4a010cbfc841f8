// Hostile or mistaken use, as a table per engine: every case ends in a
// named error (or the documented result) and leaks nothing: fds, memory
// mappings, BPF programs, maps and links are counted before and after.
// IOULOOP_BAD_INPUT_CASES(Runner) defines them; the BPF-only cases (double
// attach, a program built for another policy, a non-sleepable program) are
// in tests/engines_bpf_test.cc, and params too large for their region fail
// to compile (tests/compile_fail).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <thread>

#include "examples/cp/cp_policy.hpp"
#include "iouloop/iouloop.hpp"
#include "tests/bad_input/policies.hpp"
#include "tests/semantics/policies.hpp"
#include "tests/support/census.hpp"
#include "tests/support/files.hpp"
#include "tests/support/signals.hpp"

namespace bad_test {
// SIGUSR1 (empty handler) to the calling thread every `period_us` until
// destroyed.
struct signal_storm : iouloop_test::signal_storm {
  explicit signal_storm(long period_us) : iouloop_test::signal_storm({SIGUSR1}, period_us) {}
};
}  // namespace bad_test
