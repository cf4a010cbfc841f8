// The echo server policy as an io_uring_bpf_ops program (map echo_ops, program echo_step).
#include <iouloop/bpf/program.hpp>

#include "examples/echo/echo_policy.hpp"

IOULOOP_BPF_POLICY(echo, echo::policy);
