// The proxy cases on the userspace engine (host).
#include "examples/proxy/proxy_cases.hpp"
#include "tests/support/runners.hpp"

#define IOULOOP_RUNNER userspace_runner
#include "examples/proxy/proxy_table.hpp"
