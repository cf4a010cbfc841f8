// Must not build: //:userspace does not provide the BPF engine (libbpf).
#include "iouloop/engine/bpf.hpp"
