// The relay cases on the BPF engine (VM only: the kernel needs io_uring_bpf_ops).
#include "tests/bufring/relay_bpf.bpf.h"
#include "tests/bufring/relay_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(relay::policy, relay_bpf::programs::relay);

#define IOULOOP_RUNNER bpf_runner
#include "tests/bufring/relay_table.hpp"
