// The proxy policy as an io_uring_bpf_ops program (map proxy_ops, program proxy_step).
#include <iouloop/bpf/program.hpp>

#include "examples/proxy/proxy_policy.hpp"

IOULOOP_BPF_POLICY(proxy, proxy::policy);
// The same step for the ring proxy_main.cc makes (128 SQEs, 4096 CQEs): the engine chooses
// it on such a ring (iouloop/bpf/program.hpp, IOULOOP_BPF_RING_VARIANT).
IOULOOP_BPF_RING_VARIANT(proxy, proxy::policy, 128, 4096);
