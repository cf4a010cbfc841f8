// The file-copy policy as an io_uring_bpf_ops program.
#include <iouloop/bpf/program.hpp>

#include "examples/cp/cp_policy.hpp"

IOULOOP_BPF_POLICY(cp, cp::policy);
IOULOOP_BPF_POLICY(cp_unlinked, cp::unlinked_policy);
