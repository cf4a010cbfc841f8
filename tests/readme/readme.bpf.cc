// The README's policies, as BPF programs (tests/readme/BUILD.bazel).
#include <iouloop/bpf/program.hpp>

#include "tests/readme/nop.hpp"
#include "tests/readme/mirror.hpp"

IOULOOP_BPF_POLICY(nop, nop::policy);
IOULOOP_BPF_POLICY(mirror, mirror::policy);
