#include "examples/cp/cp_bpf.bpf.h"
#include "tests/bad_input/bad_input_bpf.bpf.h"
#include "tests/bad_input/cases.hpp"
#include "tests/semantics/semantics_bpf.bpf.h"
#include "tests/support/runners.hpp"

IOULOOP_PROGRAM_FOR(sem::stop_at_once, semantics_bpf::programs::stop_at_once);
IOULOOP_PROGRAM_FOR(sem::return_value, semantics_bpf::programs::return_value);
IOULOOP_PROGRAM_FOR(sem::overflow_flush, semantics_bpf::programs::overflow_flush);
IOULOOP_PROGRAM_FOR(bad::oversubscribe, bad_input_bpf::programs::oversubscribe);
IOULOOP_PROGRAM_FOR(bad::forever, bad_input_bpf::programs::forever);
IOULOOP_PROGRAM_FOR(cp::policy, cp_bpf::programs::cp);

#define IOULOOP_RUNNER bpf_runner
#include "tests/bad_input/table.hpp"
