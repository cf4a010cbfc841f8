// The echo2 policy as an io_uring_bpf_ops program (map echo2_ops, program echo2_step).
#include <iouloop/bpf/program.hpp>

#include "examples/echo2/echo2_policy.hpp"

IOULOOP_BPF_POLICY(echo2, echo2::policy);
// The same step for the ring echo2_main.cc makes (128 SQEs, 4096 CQEs): the engine chooses
// it on such a ring (iouloop/bpf/program.hpp, IOULOOP_BPF_RING_VARIANT).
IOULOOP_BPF_RING_VARIANT(echo2, echo2::policy, 128, 4096);
