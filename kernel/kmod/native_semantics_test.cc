// The loop-semantics table (tests/semantics/table.hpp) on the native-callback
// engine: the same cases the userspace and BPF engines run, the policies
// compiled into iouloop_kmod.ko and called by the kernel's loop
// (io_uring/loop.c __io_run_loop) with no verifier, JIT or kfunc in between.
// Runs in the VM with the module loaded (tools/test.sh, stage 6). One table
// per program, as on the BPF engine: the rings a table leaves behind are torn
// down by the kernel after the program ends, not during the next table.
#include "kernel/kmod/native_policies.hpp"
#include "tests/semantics/cases.hpp"
#include "tests/support/kernel_runner.hpp"

IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES)

#define IOULOOP_RUNNER kernel_runner
#include "tests/semantics/table.hpp"
#include "tests/semantics/notify_spin.hpp"
