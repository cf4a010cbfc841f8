// The echo2 cases on the BPF engine (VM only: the kernel needs io_uring_bpf_ops).
#include "examples/echo2/echo2_bpf.bpf.h"
#include "examples/echo2/echo2_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(echo2::policy, echo2_bpf::programs::echo2);

#define IOULOOP_RUNNER bpf_runner
#include "examples/echo2/echo2_table.hpp"
