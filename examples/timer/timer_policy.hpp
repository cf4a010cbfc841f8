// Periodic work with timeouts and linked requests. Every `period_ms` a tick
// fires: a relative IORING_OP_TIMEOUT that the tick itself re-arms. Each tick
//  - appends the record "tick 000042\n" to the log: a write linked to an fsync;
//  - reads the input pipe, the read linked to a timeout of `read_timeout_ms`:
//    with data the read completes and its link timeout ends with -ECANCELED;
//    without, the link timeout fires (-ETIME) and cancels the read (-ECANCELED).
// The loop stops once `ticks` ticks have fired and nothing is in flight.
// Unexpected results are counted in `errors`; the first is loop.fail()'s,
// which the host's run() returns.
#pragma once

#include <iouloop/combinators.hpp>

namespace timer {
using namespace iouloop;

inline constexpr u32 record_bytes = 12;   // "tick NNNNNN\n"
inline constexpr u32 record_slots = 8;    // records whose write may be in flight (a power of two)
inline constexpr u32 input_bytes = 64;    // what one read asks for
inline constexpr u32 max_ticks = 999999;  // six digits in a record
inline constexpr u32 sqes_per_tick = 5;   // timeout, write + fsync, read + link timeout

struct params {
  // set by the host
  s32 log_fd, in_fd;
  u32 period_ms, read_timeout_ms, ticks;
  // what happened
  u32 steps;
  u32 ticked;              // tick timeouts that fired
  u32 written, synced;     // records written in full; fsyncs that succeeded
  u32 reads_data;          // reads that got data before their timeout ...
  u32 reads_timed_out;     // ... and reads the timeout cancelled (-ECANCELED)
  u32 timeouts_cancelled;  // link timeouts removed because the read finished first (-ECANCELED) ...
  u32 timeouts_fired;      // ... and link timeouts that fired (-ETIME)
  u32 records_dropped;     // ticks whose record slot was still being written
  u32 errors;              // any other result (the first is loop.fail()'s)
  s32 last_read_res, last_timeout_res;
  u64 bytes_read;
  // loop state
  u32 started, in_flight, records_busy, pad;
  abi::kernel_timespec tick_ts, read_ts;
  struct record {
    u8 bytes[record_bytes];
  };
  bounded_array<record, record_slots> records;
  u8 input[input_bytes];
};

enum class tag : u8 { tick = 1, write, fsync, read, read_timeout };
using ud = user_data<tag, u32>;  // payload: the tick number

inline void set_ms(abi::kernel_timespec& ts, u32 ms) {
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = s64(ms % 1000) * 1000000;
}

// Counts an unexpected result; the first is the loop's failure (recorded
// with the caller's file and line).
template <class Loop>
void note_error(Loop& loop, s32 res, const char* file = __builtin_FILE(), u32 line = __builtin_LINE()) {
  loop.params.errors++;
  loop.fail(res < 0 ? res : err::io, file, line);
}

// The SQE makers below are called with enough SQ space (on_tick checks).
template <class Loop>
void arm_tick(Loop& loop) {
  params& p = loop.params;
  abi::sqe* t = loop.sq.next();
  if (!t) return;
  prep_timeout(*t, loop.user_addr(p.tick_ts), 0, 0, ud::make(tag::tick, p.ticked + 1));
  p.in_flight++;
}

template <class Loop>
void append_record(Loop& loop, u32 n) {
  params& p = loop.params;
  const u32 slot = n % record_slots;
  if (p.records_busy & (1u << slot)) {
    p.records_dropped++;
    return;
  }
  auto chain = reserve<2>(loop);
  if (!chain) return;
  u8* r = p.records[slot].bytes;
  r[0] = 't', r[1] = 'i', r[2] = 'c', r[3] = 'k', r[4] = ' ';
  u32 v = n;
  for (u32 i = 0; i < 6; ++i, v /= 10) r[10 - i] = u8('0' + v % 10);
  r[11] = '\n';
  prep_write(chain[0], p.log_fd, loop.user_addr(p.records[slot]), record_bytes, u64(n - 1) * record_bytes,
             ud::make(tag::write, n))
      .link();
  prep_fsync(chain[1], p.log_fd, ud::make(tag::fsync, n));
  p.records_busy |= 1u << slot;
  p.in_flight += 2;
}

template <class Loop>
void read_input(Loop& loop, u32 n) {
  params& p = loop.params;
  auto chain = reserve<2>(loop);
  if (!chain) return;
  // offset -1: the file position (a pipe has none)
  prep_read(chain[0], p.in_fd, loop.user_addr(p.input), input_bytes, ~u64(0), ud::make(tag::read, n)).link();
  prep_link_timeout(chain[1], loop.user_addr(p.read_ts), 0, ud::make(tag::read_timeout, n));
  p.in_flight += 2;
}

// ---- the step, top to bottom -------------------------------------------------

struct begin {  // counts steps; the first one arms the first tick
  template <class Loop>
  static int step(Loop& loop) {
    params& p = loop.params;
    p.steps++;
    if (p.started) return loop_continue;
    p.started = 1;
    set_ms(p.tick_ts, p.period_ms);
    set_ms(p.read_ts, p.read_timeout_ms);
    if (p.ticks > 0) arm_tick(loop);
    return loop_continue;
  }
};

struct on_tick {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 n) {
    params& p = loop.params;
    p.in_flight--;
    if (c.res() != err::time) return note_error(loop, c.res());
    p.ticked++;
    if (loop.sq.space() < sqes_per_tick) return note_error(loop, err::busy);  // and no more ticks
    if (p.ticked < p.ticks) arm_tick(loop);
    append_record(loop, n);
    read_input(loop, n);
  }
};

struct on_write {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32 n) {
    params& p = loop.params;
    p.in_flight--;
    p.records_busy &= ~(1u << (n % record_slots));  // the kernel is done with the bytes
    if (c.res() == s32(record_bytes))
      p.written++;
    else
      note_error(loop, c.res());  // a short write breaks the link: the fsync gets -ECANCELED
  }
};

struct on_fsync {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    params& p = loop.params;
    p.in_flight--;
    if (c.res() == 0)
      p.synced++;
    else
      note_error(loop, c.res());
  }
};

struct on_read {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    params& p = loop.params;
    p.in_flight--;
    p.last_read_res = c.res();
    if (c.res() > 0) {
      p.reads_data++;
      p.bytes_read += u32(c.res());
    } else if (c.res() == err::canceled) {
      p.reads_timed_out++;
    } else {
      note_error(loop, c.res());  // 0: the writer closed the pipe
    }
  }
};

struct on_read_timeout {
  template <class Loop>
  static void on_cqe(Loop& loop, cqe_view c, u32) {
    params& p = loop.params;
    p.in_flight--;
    p.last_timeout_res = c.res();
    if (c.res() == err::canceled)
      p.timeouts_cancelled++;
    else if (c.res() == err::time)
      p.timeouts_fired++;
    else
      note_error(loop, c.res());
  }
};

struct idle {  // every tick fired (or ticking failed) and nothing is in flight
  template <class Loop>
  static bool holds(Loop& loop) {
    return loop.params.in_flight == 0;
  }
};

struct submit_prepared {  // what the handlers prepared; a failed submission ends the loop
  template <class Loop>
  static int step(Loop& loop) {
    int r = loop.submit();
    if (r >= 0) return loop_continue;
    note_error(loop, r);
    return loop_stop;
  }
};

struct policy : sequence<begin,
                         reap<dispatch<ud, on<tag::tick, on_tick>, on<tag::write, on_write>, on<tag::fsync, on_fsync>,
                                       on<tag::read, on_read>, on<tag::read_timeout, on_read_timeout>>,
                              8>,
                         stop_when<idle>, submit_prepared, wait_for<1>> {
  using params_type = params;
};

// Host-side set-up of the params.
inline params make_params(s32 log_fd, s32 in_fd, u32 period_ms, u32 read_timeout_ms, u32 ticks) {
  params p{};
  p.log_fd = log_fd;
  p.in_fd = in_fd;
  p.period_ms = period_ms;
  p.read_timeout_ms = read_timeout_ms;
  p.ticks = ticks;
  return p;
}

}  // namespace timer
