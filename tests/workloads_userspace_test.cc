// NOP and file-copy workloads on the userspace engine.
#include "tests/support/runners.hpp"
#include "tests/workloads/cases.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "tests/workloads/table.hpp"
