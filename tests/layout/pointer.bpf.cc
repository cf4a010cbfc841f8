// See pointer_policy.hpp: the layout check must refuse this.
#include <iouloop/bpf/program.hpp>

#include "tests/layout/pointer_policy.hpp"

IOULOOP_BPF_POLICY(with_pointer, with_pointer::policy);
