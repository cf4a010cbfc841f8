// The timer example on the userspace engine.
#include "examples/timer/timer_cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "examples/timer/timer_table.hpp"
