// liburing_echo: the hand-written io_uring peer for bench/net: echo2's work
// (examples/echo2, docs/echo2.md) written directly on liburing, one thread:
// a DEFER_TASKRUN | SINGLE_ISSUER ring (the flags iouloop::ring uses), one
// multishot direct accept into a sparse fixed file table, per connection a
// multishot recv that picks buffers from ONE provided buffer ring
// (io_uring_setup_buf_ring), one send in flight per connection from the
// oldest received buffer, the buffer back into the ring once it is sent;
// EOF or an error: the queue is sent (or dropped), then the slot is closed.
//
//   liburing_echo --port P [--clients N] [--table N] [--buffers N] [--buffer-bytes B]
//
// --clients N: exit once N connections came and went (0: until killed).
// Defaults as echo2's: 1024 slots, 128 buffers of 4096 bytes.
#include <liburing.h>
#include <signal.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "examples/common/cli.hpp"
#include "examples/echo/echo_host.hpp"
#include "iouloop/engine/error.hpp"

namespace {

using iouloop::error;
using u64 = unsigned long long;

enum tag : u64 { t_accept = 1, t_recv, t_send, t_close };
u64 ud(tag t, unsigned slot) { return (u64(t) << 32) | slot; }

constexpr unsigned group_id = 1;
constexpr uint16_t no_buf = 0xffff;

struct slot_state {
  bool open = false, recv_armed = false, sending = false, eof = false, broken = false;
  uint16_t head = no_buf, tail = no_buf;  // received buffers, oldest first (linked by `next`)
  unsigned off = 0;                       // sent bytes of `head`
};

struct config {
  unsigned table = 1024, nbufs = 128, buf_size = 4096, expect = 0;
};

class server {
 public:
  server(int listen_fd, const config& c)
      : lfd_(listen_fd), c_(c), slots_(c.table), next_(c.nbufs, no_buf), len_(c.nbufs, 0) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_NO_SQARRAY |
              IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
    p.cq_entries = 4096;
    if (int e = io_uring_queue_init_params(128, &ring_, &p); e < 0) throw error(-e, "io_uring_queue_init_params");
    if (int e = io_uring_register_files_sparse(&ring_, c.table); e < 0)
      throw error(-e, "io_uring_register_files_sparse");
    pool_ = static_cast<unsigned char*>(
        ::mmap(nullptr, size_t(c.nbufs) * c.buf_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pool_ == MAP_FAILED) throw error(errno, "mmap of the buffers failed");
    int e = 0;
    br_ = io_uring_setup_buf_ring(&ring_, c.nbufs, group_id, 0, &e);
    if (!br_) throw error(-e, "io_uring_setup_buf_ring");
    for (unsigned b = 0; b < c.nbufs; ++b)
      io_uring_buf_ring_add(br_, pool_ + size_t(b) * c.buf_size, c.buf_size, uint16_t(b),
                            io_uring_buf_ring_mask(c.nbufs), int(b));
    io_uring_buf_ring_advance(br_, int(c.nbufs));
  }
  ~server() {
    io_uring_free_buf_ring(&ring_, br_, c_.nbufs, group_id);
    io_uring_queue_exit(&ring_);
    ::munmap(pool_, size_t(c_.nbufs) * c_.buf_size);
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Serves until `expect` connections came and went (or forever).
  void run() {
    arm_accept();
    while (!c_.expect || closed_ < c_.expect) {
      int e = io_uring_submit_and_wait(&ring_, 1);
      if (e == -EINTR) continue;
      if (e < 0) throw error(-e, "io_uring_submit_and_wait");
      unsigned head, n = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        n++;
        complete(*cqe);
      }
      io_uring_cq_advance(&ring_, n);
    }
  }

  u64 accepted_ = 0, closed_ = 0, received_ = 0, sent_ = 0, dropped_ = 0, enobufs_ = 0;

 private:
  // A vacant SQE; submits what is queued when the SQ is full.
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (!s) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
      if (!s) throw error(EBUSY, "no SQE after a submit");
    }
    return s;
  }

  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept_direct(s, lfd_, nullptr, nullptr, 0);
    io_uring_sqe_set_data64(s, ud(t_accept, 0));
  }
  void arm_recv(unsigned slot) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, int(slot), nullptr, 0, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    s->buf_group = group_id;
    io_uring_sqe_set_data64(s, ud(t_recv, slot));
    slots_[slot].recv_armed = true;
  }
  void send_head(unsigned slot) {
    slot_state& st = slots_[slot];
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, int(slot), pool_ + size_t(st.head) * c_.buf_size + st.off, len_[st.head] - st.off,
                       MSG_NOSIGNAL);
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(s, ud(t_send, slot));
    st.sending = true;
  }
  void recycle(uint16_t bid) {
    io_uring_buf_ring_add(br_, pool_ + size_t(bid) * c_.buf_size, c_.buf_size, bid, io_uring_buf_ring_mask(c_.nbufs),
                          0);
    io_uring_buf_ring_advance(br_, 1);
    if (!starved_.empty()) {  // a recv that found the ring dry: one buffer is back
      const unsigned slot = starved_.back();
      starved_.pop_back();
      if (slots_[slot].open && !slots_[slot].broken && !slots_[slot].eof) arm_recv(slot);
    }
  }
  // Closes the slot once nothing is in flight for it; a broken slot's queue
  // goes back unsent. A broken slot's recv is cancelled first.
  void maybe_close(unsigned slot) {
    slot_state& st = slots_[slot];
    if (st.sending) return;
    if (st.broken) {
      while (st.head != no_buf) {
        const uint16_t b = st.head;
        st.head = next_[b];
        dropped_ += len_[b];
        recycle(b);
      }
      st.tail = no_buf;
      if (st.recv_armed) {
        io_uring_sqe* s = sqe();
        io_uring_prep_cancel_fd(s, int(slot), IORING_ASYNC_CANCEL_FD_FIXED);
        io_uring_sqe_set_data64(s, ud(t_recv, slot) | (u64(1) << 48));  // its CQE is ignored
        return;                                                         // the cancelled recv's last CQE brings us back
      }
    }
    if (st.head != no_buf || st.recv_armed) return;
    io_uring_sqe* s = sqe();
    io_uring_prep_close_direct(s, slot);
    io_uring_sqe_set_data64(s, ud(t_close, slot));
    st.open = false;
  }

  void complete(const io_uring_cqe& c) {
    if (c.user_data >> 48) return;  // a cancel's own completion
    const tag t = tag(c.user_data >> 32);
    const unsigned slot = unsigned(c.user_data & 0xffffffffu);
    switch (t) {
      case t_accept:
        if (c.res >= 0) {
          slots_[unsigned(c.res)] = slot_state{};
          slots_[unsigned(c.res)].open = true;
          accepted_++;
          arm_recv(unsigned(c.res));
        } else if (c.res != -ENFILE && c.res != -ECONNABORTED) {
          throw error(-c.res, "the multishot accept failed");
        }
        if (!(c.flags & IORING_CQE_F_MORE)) arm_accept();
        return;
      case t_recv: {
        slot_state& st = slots_[slot];
        const bool more = c.flags & IORING_CQE_F_MORE;
        if (!more) st.recv_armed = false;
        if (c.res > 0) {
          const uint16_t bid = uint16_t(c.flags >> IORING_CQE_BUFFER_SHIFT);
          received_ += u64(c.res);
          len_[bid] = unsigned(c.res);
          next_[bid] = no_buf;
          if (st.broken) {
            dropped_ += len_[bid];
            recycle(bid);
          } else {
            if (st.tail == no_buf)
              st.head = bid;
            else
              next_[st.tail] = bid;
            st.tail = bid;
            if (!st.sending) send_head(slot);
          }
          if (!more && !st.broken) arm_recv(slot);
        } else if (c.res == -ENOBUFS) {
          enobufs_++;
          if (!st.broken) starved_.push_back(slot);
        } else if (c.res == 0) {
          st.eof = true;
        } else if (c.res != -ECANCELED) {
          st.broken = true;
        }
        if (!st.recv_armed && (st.eof || st.broken)) maybe_close(slot);
        return;
      }
      case t_send: {
        slot_state& st = slots_[slot];
        st.sending = false;
        if (c.res < 0) {
          st.broken = true;
        } else {
          sent_ += u64(c.res);
          st.off += unsigned(c.res);
          if (st.off == len_[st.head]) {
            const uint16_t b = st.head;
            st.head = next_[b];
            if (st.head == no_buf) st.tail = no_buf;
            st.off = 0;
            recycle(b);
          }
          if (st.head != no_buf && !st.broken) return send_head(slot);
        }
        if (st.eof || st.broken) maybe_close(slot);
        return;
      }
      case t_close:
        closed_++;
        return;
    }
  }

  int lfd_;
  config c_;
  io_uring ring_{};
  io_uring_buf_ring* br_ = nullptr;
  unsigned char* pool_ = nullptr;
  std::vector<slot_state> slots_;
  std::vector<uint16_t> next_;  // by buffer: the next buffer in its slot's queue
  std::vector<unsigned> len_;   // by buffer: bytes received into it
  std::vector<unsigned> starved_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned long port = 0;
  config cfg;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto num = [&](const char* flag) {
        const unsigned long v = example::number(flag, example::value_of(argc, argv, i, flag));
        if (v > 65536) throw error(EINVAL, std::string(flag) + " is at most 65536");
        return unsigned(v);
      };
      if (a == "--port")
        port = num("--port");
      else if (a == "--clients")
        cfg.expect = num("--clients");
      else if (a == "--table")
        cfg.table = num("--table");
      else if (a == "--buffers")
        cfg.nbufs = num("--buffers");
      else if (a == "--buffer-bytes")
        cfg.buf_size = num("--buffer-bytes");
      else
        throw error(EINVAL, "unknown argument '" + a +
                                "' (usage: liburing_echo --port P [--clients N] [--table N] [--buffers N] "
                                "[--buffer-bytes B])");
    }
    if (port == 0 || port > 65535) throw error(EINVAL, "--port 1 .. 65535 is needed");
    if (cfg.table < 1 || cfg.nbufs < 1 || cfg.nbufs > 32768 || (cfg.nbufs & (cfg.nbufs - 1)) || cfg.buf_size < 1)
      throw error(EINVAL, "--table >= 1, --buffers a power of two up to 32768, --buffer-bytes >= 1");
    ::signal(SIGPIPE, SIG_IGN);
    echo_host::ensure_loopback();
    echo_host::listener lis(uint16_t(port), 0, 4096);
    server s(lis.fd(), cfg);
    s.run();
    std::printf(
        "liburing_echo: accepted %llu, closed %llu; ring ran dry %llu times; received %llu, sent %llu, "
        "dropped %llu bytes\n",
        s.accepted_, s.closed_, s.enobufs_, s.received_, s.sent_, s.dropped_);
    if (s.received_ != s.sent_ + s.dropped_) throw error(EIO, "received and sent differ");
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "liburing_echo: %s\n", e.what());
    return 1;
  }
}
