// The semantics-table policies as io_uring_bpf_ops programs (one object).
#include <iouloop/bpf/program.hpp>

#include "tests/semantics/policies.hpp"

IOULOOP_BPF_POLICY(stop_at_once, sem::stop_at_once);
IOULOOP_BPF_POLICY(continue_until_limit, sem::continue_until_limit);
IOULOOP_BPF_POLICY(return_value, sem::return_value);
IOULOOP_BPF_POLICY(sleep_until_cqes, sem::sleep_until_cqes);
IOULOOP_BPF_POLICY(wait_idx_lifetime, sem::wait_idx_lifetime);
IOULOOP_BPF_POLICY(submit_count, sem::submit_count);
IOULOOP_BPF_POLICY(overflow_flush, sem::overflow_flush);
IOULOOP_BPF_POLICY(interrupted_sleep, sem::interrupted_sleep);
IOULOOP_BPF_POLICY(signal_with_completions, sem::signal_with_completions);
IOULOOP_BPF_POLICY(timer_chain, sem::timer_chain);
IOULOOP_BPF_POLICY(busy_poll, sem::busy_poll);
IOULOOP_BPF_POLICY(assumes_full_batch, sem::assumes_full_batch);
IOULOOP_BPF_POLICY(staged_value, sem::staged_value);
