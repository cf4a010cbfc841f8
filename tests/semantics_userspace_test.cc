// The loop-semantics table on the userspace engine.
#include "tests/semantics/cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_SEMANTICS_CASES(userspace_runner)
