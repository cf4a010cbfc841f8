// The unannotated policies as io_uring_bpf_ops programs.
#include <iouloop/bpf/program.hpp>

#include "tests/inline/plain_policy.hpp"

IOULOOP_BPF_POLICY(plain_by_hand, plain::by_hand);
IOULOOP_BPF_POLICY(plain_composed, plain::composed);
