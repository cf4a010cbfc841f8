// The echo2 policy as an io_uring_bpf_ops program (map echo2_ops, program echo2_step).
#include <iouloop/bpf/program.hpp>

#include "examples/echo2/echo2_policy.hpp"

IOULOOP_BPF_POLICY(echo2, echo2::policy);
