// The direct-descriptor cases on the BPF engine (VM only: the kernel needs io_uring_bpf_ops).
#include "tests/direct/direct_bpf.bpf.h"
#include "tests/direct/direct_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(direct::policy, direct_bpf::programs::direct);

#define IOULOOP_RUNNER bpf_runner
#include "tests/direct/direct_table.hpp"
