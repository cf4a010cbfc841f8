// Policies written with no annotation at all (no IOULOOP_INLINE, no
// always_inline): helpers as a user writes them (free functions, a function
// template, a class with members, a lambda, a combinator hook). They must
// build and load on the BPF engine as they run on the userspace engine:
// iouloop_bpf_program inlines every function of the policy's translation
// unit (bpf/defs.bzl). tests/inline/plain_test.cc runs both on both engines.
#pragma once

#include <iouloop/combinators.hpp>

namespace plain {
using namespace iouloop;

struct params {
  u32 total;  // NOPs to complete
  u32 depth;  // NOPs in flight at most
  u32 submitted, completed, errors;
  u64 payload_sum;  // sum of the payloads of the completed NOPs
};

enum class tag : u8 { nop = 1 };
using ud = user_data<tag, u32>;

// A free function, and one calling it.
inline bool room_for_one(const params& p) { return p.submitted < p.total && p.submitted - p.completed < p.depth; }
inline bool all_done(const params& p) { return p.completed >= p.total; }

// A function template.
template <class Loop>
bool submit_one(Loop& loop) {
  params& p = loop.params;
  if (!room_for_one(p)) return false;
  abi::sqe* s = loop.sq.next();
  if (!s) return false;
  prep_nop(*s, ud::make(tag::nop, p.submitted));
  p.submitted++;
  return true;
}

// A class with a constructor and member functions.
class tally {
 public:
  explicit tally(params& p) : p_(p) {}
  void add(cqe_view c, u32 payload) {
    p_.completed++;
    p_.payload_sum += payload;
    if (!c.ok()) p_.errors++;
  }

 private:
  params& p_;
};

// The step by hand: reap, stop, refill, wait.
struct by_hand {
  using params_type = params;
  template <class Loop>
  static int step(Loop& loop) {
    tally t(loop.params);
    for (cqe_view c : loop.cq.template batch<32>())
      if (ud::tag_of(c.user_data()) == tag::nop) t.add(c, ud::payload_of(c.user_data()));
    if (all_done(loop.params)) return loop_stop;
    auto fill = [&loop] {
      for (u32 i = 0; i < 32; ++i)
        if (!submit_one(loop)) break;
    };
    fill();
    loop.submit();
    loop.wait_cqes(1);
    return loop_continue;
  }
};

// The same from combinators, hooks unannotated as in the README.
struct count {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 payload) {
    tally(loop.params).add(c, payload);
  }
};
struct more {
  template <class Loop>
  static bool produce(Loop& loop) {
    return submit_one(loop);
  }
};
struct done {
  template <class Loop>
  static bool holds(Loop& loop) {
    return all_done(loop.params);
  }
};
struct composed
    : sequence<reap<dispatch<ud, on<tag::nop, count>>, 32>, stop_when<done>, refill<more, 32>, wait_for<1>> {
  using params_type = params;
};

}  // namespace plain
