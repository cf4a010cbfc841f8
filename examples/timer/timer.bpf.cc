// The timer policy as an io_uring_bpf_ops program.
#include <iouloop/bpf/program.hpp>

#include "examples/timer/timer_policy.hpp"

IOULOOP_BPF_POLICY(timer, timer::policy);
// The same step for the ring timer_main.cc makes (the default ring_options): the engine chooses
// it on such a ring (iouloop/bpf/program.hpp, IOULOOP_BPF_RING_VARIANT).
IOULOOP_BPF_RING_VARIANT(timer, timer::policy, 64, 128);
