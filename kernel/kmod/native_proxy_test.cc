// examples/proxy's table (a TCP relay between clients and an echo upstream:
// connect, multishot recv from one shared provided buffer ring, sends,
// half-close, cancel on reset) on the native-callback engine: the same cases
// the userspace and BPF engines run. VM, module loaded (tools/test.sh,
// stage 6); one table per program.
#include "examples/proxy/proxy_cases.hpp"
#include "kernel/kmod/native_policies.hpp"
#include "tests/support/kernel_runner.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

#define IOULOOP_RUNNER kernel_runner
#include "examples/proxy/proxy_table.hpp"
