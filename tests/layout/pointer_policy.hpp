// A policy whose params hold raw pointers: it compiles everywhere and runs
// on the userspace engine, but no BPF program can use a host pointer. The
// layout check (bpf/btf_layout.cc) must refuse it at build time, naming each
// pointer. Only its layout probe is built (BUILD.bazel): a real
// iouloop_bpf_program of it would fail the build, as it should.
#pragma once

#include <iouloop/policy.hpp>

namespace with_pointer {
using namespace iouloop;

struct item {
  u64 len;
  const char* name;  // nested in an array of structs
};
struct params {
  u32 count;
  u8* buffer;  // the obvious mistake
  item items[4];
  union {
    u64 addr;           // fine: a user address
    void (*on_done)();  // a function pointer in an anonymous union
  };
  u64 buffer_addr;  // what buffer should have been
};
struct policy {
  using params_type = params;
  template <class Loop>
  IOULOOP_INLINE static int step(Loop& l) {
    l.params.count++;
    return loop_stop;
  }
};
}  // namespace with_pointer
