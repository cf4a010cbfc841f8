// The relay policy as an io_uring_bpf_ops program (map relay_ops, program relay_step).
#include <iouloop/bpf/program.hpp>

#include "tests/bufring/relay_policy.hpp"

IOULOOP_BPF_POLICY(relay, relay::policy);
