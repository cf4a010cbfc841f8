// The echo server on the userspace engine (host, and the VM via echo_test_static).
#include "examples/echo/echo_cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "examples/echo/echo_table.hpp"
