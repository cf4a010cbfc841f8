// iouloop/iouloop.hpp — everything for a host program: the views, builders,
// tags and combinators a policy uses, plus rings, param regions and engines.
// A policy header includes only iouloop/combinators.hpp (or finer headers),
// which also compile for BPF.
#pragma once

#include "iouloop/abi.hpp"
#include "iouloop/combinators.hpp"
#include "iouloop/engine/attached.hpp"
#include "iouloop/engine/buf_ring.hpp"
#include "iouloop/engine/error.hpp"
#include "iouloop/engine/fixed_files.hpp"
#include "iouloop/engine/owned.hpp"
#include "iouloop/engine/param_region.hpp"
#include "iouloop/engine/ring.hpp"
#include "iouloop/engine/settle.hpp"
#include "iouloop/engine/userspace.hpp"
#include "iouloop/policy.hpp"
#include "iouloop/ring.hpp"
#include "iouloop/sqe.hpp"
#include "iouloop/user_data.hpp"
