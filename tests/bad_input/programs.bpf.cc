#include <iouloop/bpf/program.hpp>

#include "examples/cp/cp_policy.hpp"
#include "tests/bad_input/policies.hpp"

IOULOOP_BPF_POLICY(oversubscribe, bad::oversubscribe);
IOULOOP_BPF_POLICY(forever, bad::forever);
