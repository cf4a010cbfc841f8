#include <iouloop/bpf/program.hpp>

#include "bench/spin_policy.hpp"

IOULOOP_BPF_POLICY(spin, spin::policy);
