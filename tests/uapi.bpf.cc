// iouloop/uapi.hpp compiles for BPF (the values are checked on the host, in
// uapi_test.cc): a policy comparing a result and passing flags.
#include <iouloop/bpf/program.hpp>
#include <iouloop/uapi.hpp>

namespace uapi_check {
using namespace iouloop;

struct params {
  s32 last;
  u32 canceled;
};

struct policy {
  using params_type = params;
  template <class Loop>
  static int step(Loop& loop) {
    for (cqe_view c : loop.cq.template batch<8>()) {
      loop.params.last = c.res();
      if (c.res() == err::canceled || c.res() == err::time) loop.params.canceled++;
    }
    abi::sqe* s = loop.sq.next();
    if (!s) return loop_stop;
    prep_poll_add(*s, at::fdcwd, poll::in | poll::rdhup, false, udata::from_raw(1));
    if (!(s = loop.sq.next())) return loop_stop;
    prep_send(*s, 0, uaddr{}, 0, msg::nosignal | msg::dontwait, udata::from_raw(2));
    if (!(s = loop.sq.next())) return loop_stop;
    prep_accept_multishot(*s, 0, sock::cloexec | sock::nonblock, udata::from_raw(3));
    return loop_stop;
  }
};
}  // namespace uapi_check

IOULOOP_BPF_POLICY(uapi_check, uapi_check::policy);
