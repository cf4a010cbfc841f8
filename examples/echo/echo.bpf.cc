// The echo server policy as an io_uring_bpf_ops program (map echo_ops, program echo_step).
#include <iouloop/bpf/program.hpp>

#include "examples/echo/echo_policy.hpp"

IOULOOP_BPF_POLICY(echo, echo::policy);
// The same step for the ring echo_main.cc makes (the default ring_options): the engine chooses
// it on such a ring (iouloop/bpf/program.hpp, IOULOOP_BPF_RING_VARIANT).
IOULOOP_BPF_RING_VARIANT(echo, echo::policy, 64, 128);
