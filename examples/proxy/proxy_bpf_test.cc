// The proxy cases on the BPF engine (VM only: the kernel needs io_uring_bpf_ops).
#include "examples/proxy/proxy_bpf.bpf.h"
#include "examples/proxy/proxy_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(proxy::policy, proxy_bpf::programs::proxy);

#define IOULOOP_RUNNER bpf_runner
#include "examples/proxy/proxy_table.hpp"
