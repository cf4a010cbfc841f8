// The echo2 cases on the userspace engine (host, and the VM via echo2_test_static).
#include "examples/echo2/echo2_cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "examples/echo2/echo2_table.hpp"
