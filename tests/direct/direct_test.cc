// The direct-descriptor cases on the userspace engine (host, and the VM via direct_test_static).
#include "tests/direct/direct_cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "tests/direct/direct_table.hpp"
