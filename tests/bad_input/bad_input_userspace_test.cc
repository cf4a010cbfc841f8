#include "tests/bad_input/cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "tests/bad_input/table.hpp"
