#include "tests/bad_input/cases.hpp"
#include "tests/support/runners.hpp"

IOULOOP_BAD_INPUT_CASES(userspace_runner)
