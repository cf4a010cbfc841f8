// iouloop/bpf/shared.hpp — the structs a BPF object and its host loader both
// read (iouloop/bpf/shared.h, plain C), for C++: included by bpf/program.hpp
// and engine/bpf.hpp alike.
#pragma once

#include "iouloop/bpf/shared.h"
#include "iouloop/ring.hpp"
