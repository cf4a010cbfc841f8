#include <iouloop/bpf/program.hpp>

#include "countdown_policy.hpp"

IOULOOP_BPF_POLICY(countdown, countdown::policy);
