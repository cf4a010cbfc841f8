// The BPF side of the layout cases (cases.cc): its params layout is what
// layout_bpf::programs::pair checks host params types against.
#include <iouloop/bpf/program.hpp>

#include "tests/compile_fail/layout_policy.hpp"

IOULOOP_BPF_POLICY(pair, layout::policy);
