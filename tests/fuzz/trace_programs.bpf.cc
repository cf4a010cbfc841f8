// The per-step trace policy as an io_uring_bpf_ops program.
#include <iouloop/bpf/program.hpp>

#include "tests/fuzz/trace_policy.hpp"

IOULOOP_BPF_POLICY(trace, trace::policy);
