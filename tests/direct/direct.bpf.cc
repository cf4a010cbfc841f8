// The direct-descriptor echo policy as an io_uring_bpf_ops program (map direct_ops, program direct_step).
#include <iouloop/bpf/program.hpp>

#include "tests/direct/direct_policy.hpp"

IOULOOP_BPF_POLICY(direct, direct::policy);
