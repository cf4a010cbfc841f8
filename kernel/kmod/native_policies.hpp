// SPDX-License-Identifier: GPL-2.0
// The policies compiled into iouloop_kmod.ko, and the names the module lists
// them under: one list, read by the module (kernel/kmod/policies.cc makes its
// table from it) and by the host (IOULOOP_NATIVE_STEPS gives each type its
// name, so kernel_engine<P> needs no name from the caller).
//
// To run a policy natively: include its header here, add a line to the list,
// rebuild the module (kernel/kmod/build.sh). The header must compile as
// freestanding kernel C++ (kernel/kmod/Kbuild has the flags): what compiles to
// BPF does.
#pragma once

#include "examples/cp/cp_policy.hpp"
#include "examples/echo/echo_policy.hpp"
#include "examples/echo2/echo2_policy.hpp"
#include "examples/nop/nop_policy.hpp"
#include "examples/proxy/proxy_policy.hpp"
#include "examples/timer/timer_policy.hpp"
#include "tests/semantics/policies.hpp"

// X(name, policy type): the name is what /dev/iouloop's attach asks for.
#define IOULOOP_NATIVE_POLICIES(X)                             \
  X(nop, nop::policy)                                          \
  X(nop_by_hand, nop::nop_by_hand)                             \
  X(cp, cp::policy)                                            \
  X(echo, echo::policy)                                        \
  X(echo2, echo2::policy)                                      \
  X(proxy, proxy::policy)                                      \
  X(timer, timer::policy)                                      \
  X(sem_stop_at_once, sem::stop_at_once)                       \
  X(sem_continue_until_limit, sem::continue_until_limit)       \
  X(sem_return_value, sem::return_value)                       \
  X(sem_sleep_until_cqes, sem::sleep_until_cqes)               \
  X(sem_wait_idx_lifetime, sem::wait_idx_lifetime)             \
  X(sem_submit_count, sem::submit_count)                       \
  X(sem_overflow_flush, sem::overflow_flush)                   \
  X(sem_interrupted_sleep, sem::interrupted_sleep)             \
  X(sem_signal_with_completions, sem::signal_with_completions) \
  X(sem_timer_chain, sem::timer_chain)                         \
  X(sem_busy_poll, sem::busy_poll)                             \
  X(sem_assumes_full_batch, sem::assumes_full_batch)           \
  X(sem_staged_value, sem::staged_value)
