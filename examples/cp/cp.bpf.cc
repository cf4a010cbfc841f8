// The file-copy policy as an io_uring_bpf_ops program.
#include <iouloop/bpf/program.hpp>

#include "examples/cp/cp_policy.hpp"

IOULOOP_BPF_POLICY(cp, cp::policy);
// The same step for the ring cp_main.cc makes (the default ring_options): the engine chooses
// it on such a ring (iouloop/bpf/program.hpp, IOULOOP_BPF_RING_VARIANT).
IOULOOP_BPF_RING_VARIANT(cp, cp::policy, 64, 128);
IOULOOP_BPF_POLICY(cp_unlinked, cp::unlinked_policy);
IOULOOP_BPF_RING_VARIANT(cp_unlinked, cp::unlinked_policy, 64, 128);
IOULOOP_BPF_POLICY(cp_serial, cp::serial_policy);
IOULOOP_BPF_RING_VARIANT(cp_serial, cp::serial_policy, 64, 128);
