// The proxy policy as an io_uring_bpf_ops program (map proxy_ops, program proxy_step).
#include <iouloop/bpf/program.hpp>

#include "examples/proxy/proxy_policy.hpp"

IOULOOP_BPF_POLICY(proxy, proxy::policy);
