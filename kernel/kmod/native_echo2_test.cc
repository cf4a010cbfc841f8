// examples/echo2's table (direct descriptors, one shared provided buffer
// ring refilled by the step, graceful stop) on the native-callback engine:
// the same cases the userspace and BPF engines run. VM, module loaded
// (tools/test.sh, stage 6); one table per program.
#include "examples/echo2/echo2_cases.hpp"
#include "kernel/kmod/native_policies.hpp"
#include "tests/support/kernel_runner.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

#define IOULOOP_RUNNER kernel_runner
#include "examples/echo2/echo2_table.hpp"
