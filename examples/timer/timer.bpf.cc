// The timer policy as an io_uring_bpf_ops program.
#include <iouloop/bpf/program.hpp>

#include "examples/timer/timer_policy.hpp"

IOULOOP_BPF_POLICY(timer, timer::policy);
