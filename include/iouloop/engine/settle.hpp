// iouloop/engine/settle.hpp — after the last run(): let the kernel release
// what the policy's finished requests still hold, while the ring stays open.
//
// A request that finished on an io-wq worker (a send that poll woke and that
// still found no room, say) is freed by that worker after its CQE is posted,
// and on a DEFER_TASKRUN ring the free is deferred task work
// (io_wq_free_work -> io_free_req -> io_req_local_work_add) that only the
// ring's submitter runs, when it next enters the ring
// (io_cqring_wait -> io_run_local_work) or closes it. Until then the request
// keeps its file: a socket the policy closed, its close CQE fine, sends no
// FIN, and a peer waiting for EOF waits. Both engines meet it; it is the
// kernel's behaviour once the loop has ended (docs/semantics.md).
//
// A host that keeps the ring after run() while someone waits for what the
// policy closed (clients in the same process, a test) calls settle_until;
// one that destroys the engine and the ring, or calls run() again, needs
// nothing.
#pragma once

#include <cerrno>
#include <chrono>
#include <concepts>
#include <thread>

#include "iouloop/engine/ring.hpp"

namespace iouloop {

// Detaches the engine's loop ops (an io_uring_enter with loop ops attached
// runs the loop again: io_run_loop), then runs the ring's deferred task work
// (io_uring_enter GETEVENTS, no wait) every `every` until done() is true.
// Call it from the ring's submitter thread, the one that called run().
// Returns 0 once done() is true, or io_uring_enter's -errno at once (-EEXIST:
// not the submitter thread). A later run() says -EFAULT (detached).
template <class Engine, class Done>
  requires requires(Engine& e, Done& d) {
    e.detach();
    { d() } -> std::convertible_to<bool>;
  }
int settle_until(Engine& engine, const ring& r, Done done,
                 std::chrono::milliseconds every = std::chrono::milliseconds(5)) {
  engine.detach();
  for (;;) {
    if (int e = r.get_events(0); e < 0 && e != -EINTR) return e;
    if (done()) return 0;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace iouloop
