// Must not build: //:policy (what compiles for BPF) does not provide the
// host engine's headers.
#include "iouloop/engine/userspace.hpp"
