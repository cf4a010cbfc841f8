// The NOP policies as io_uring_bpf_ops programs.
#include <iouloop/bpf/program.hpp>

#include "examples/nop/nop_policy.hpp"

IOULOOP_BPF_POLICY(nop, nop::policy);
// The same step for the ring nop_main.cc makes up to depth 64 (the default
// ring_options): the engine chooses it on such a ring
// (iouloop/bpf/program.hpp, IOULOOP_BPF_RING_VARIANT).
IOULOOP_BPF_RING_VARIANT(nop, nop::policy, 64, 128);
IOULOOP_BPF_POLICY(nop_by_hand, nop::nop_by_hand);
