// The NOP policies as io_uring_bpf_ops programs.
#include <iouloop/bpf/program.hpp>

#include "examples/nop/nop_policy.hpp"

IOULOOP_BPF_POLICY(nop, nop::policy);
IOULOOP_BPF_POLICY(nop_by_hand, nop::nop_by_hand);
