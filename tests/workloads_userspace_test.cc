// NOP and file-copy workloads on the userspace engine.
#include "tests/support/runners.hpp"
#include "tests/workloads/cases.hpp"

IOULOOP_WORKLOAD_CASES(userspace_runner)
