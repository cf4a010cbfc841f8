// The timer example on the userspace engine.
#include "examples/timer/timer_cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_TIMER_CASES(userspace_runner)
