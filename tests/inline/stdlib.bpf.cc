// A policy including <array>, for BPF: must not build (tests/inline/stdlib_policy.hpp).
#include <iouloop/bpf/program.hpp>

#include "tests/inline/stdlib_policy.hpp"

IOULOOP_BPF_POLICY(stdlib_user, stdlib_user::policy);
