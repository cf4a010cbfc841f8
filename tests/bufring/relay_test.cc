// The relay cases on the userspace engine (host, and the VM via relay_test_static).
#include "tests/bufring/relay_cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "tests/bufring/relay_table.hpp"
