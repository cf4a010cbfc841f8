// The loop-semantics table on the userspace engine.
#include "tests/semantics/cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "tests/semantics/table.hpp"
