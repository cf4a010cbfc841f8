// Unit tests of the ring views over fake ring memory: the same bytes the
// kernel would share, laid out by a ring_layout of our choosing.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cstring>
#include <vector>

#include "iouloop/combinators.hpp"
#include "iouloop/ring.hpp"

using namespace iouloop;

namespace {

struct fake_ring {
  static constexpr u32 entries = 8;
  ring_layout layout{};
  std::vector<u8> rings = std::vector<u8>(4096);
  std::vector<u8> sqes = std::vector<u8>(entries * sizeof(abi::sqe));

  explicit fake_ring(u32 flags = 0) {
    layout.sq_head = 0;
    layout.sq_tail = 64;
    layout.sq_flags = 128;
    layout.cq_head = 192;
    layout.cq_tail = 256;
    layout.cq_overflow = 260;
    layout.cq_cqes = 320;
    layout.sq_entries = entries;
    layout.cq_entries = 2 * entries;
    layout.rings_size = 320 + 2 * entries * sizeof(abi::cqe);
    layout.sqes_size = entries * sizeof(abi::sqe);
    layout.setup_flags = flags;
  }
  u32& word(u32 off) { return *reinterpret_cast<u32*>(rings.data() + off); }
  abi::sqe& sqe_at(u32 i) { return reinterpret_cast<abi::sqe*>(sqes.data())[i]; }
  // What the kernel does when it posts a completion.
  void post(u64 ud, s32 res, u32 flags = 0) {
    u32 t = word(layout.cq_tail);
    auto* c = reinterpret_cast<abi::cqe*>(rings.data() + layout.cq_cqes) + (t & (layout.cq_entries - 1));
    *c = abi::cqe{ud, res, flags};
    word(layout.cq_tail) = t + 1;
  }
  // What the kernel does when it consumes `n` SQEs in head/tail mode.
  void consume(u32 n) { word(layout.sq_head) += n; }
  sq_ring sq() { return sq_ring(rings.data(), sqes.data(), layout); }
  cq_ring cq() { return cq_ring(rings.data(), layout); }
};

}  // namespace

TEST_CASE("sq head/tail mode hands out tail & mask and publishes on flush", "[views][sq]") {
  fake_ring f;
  f.word(f.layout.sq_head) = 5;  // start near the wrap point
  f.word(f.layout.sq_tail) = 5;
  sq_ring sq = f.sq();
  REQUIRE_FALSE(sq.rewind_mode());
  REQUIRE(sq.space() == 8);
  abi::sqe* first = sq.next();
  REQUIRE(first == &f.sqe_at(5));
  for (int i = 0; i < 7; ++i) REQUIRE(sq.next() != nullptr);
  REQUIRE(sq.space() == 0);
  REQUIRE(sq.next() == nullptr);  // full: never overwrite an unconsumed slot
  REQUIRE(sq.prepared() == 8);
  REQUIRE(f.word(f.layout.sq_tail) == 5);  // not visible before flush
  REQUIRE(sq.flush() == 8);
  REQUIRE(f.word(f.layout.sq_tail) == 13);
  f.consume(3);  // the submit call: a short submission, 5 stay in the ring
  sq.submitted();
  REQUIRE(sq.space() == 3);
  REQUIRE(sq.next() == &f.sqe_at(13 & 7));
  REQUIRE(sq.flush() == 6);  // the 5 left behind plus the new one
}

TEST_CASE("sq rewind mode fills from slot 0 every submission", "[views][sq]") {
  fake_ring f(abi::setup::sq_rewind | abi::setup::no_sqarray);
  f.word(f.layout.sq_tail) = 77;  // untouched in this mode
  sq_ring sq = f.sq();
  REQUIRE(sq.rewind_mode());
  REQUIRE(sq.next() == &f.sqe_at(0));
  REQUIRE(sq.next() == &f.sqe_at(1));
  REQUIRE(sq.flush() == 2);
  REQUIRE(f.word(f.layout.sq_tail) == 77);
  sq.submitted();
  REQUIRE(sq.next() == &f.sqe_at(0));
  for (int i = 1; i < 8; ++i) REQUIRE(sq.next() == &f.sqe_at(i));
  REQUIRE(sq.next() == nullptr);
  REQUIRE(sq.flush() == 8);
}

// A counted producer: says how many it wants, prepares one NOP per SQE
// handed to it, numbering them.
struct counted_nops {
  template <class Loop>
  static u32 wanted(Loop& loop) {
    return loop.params.want;
  }
  template <class Loop>
  static void produce(Loop& loop, abi::sqe& s) {
    prep_nop(s, udata::from_raw(loop.params.made++));
  }
};
static_assert(producer<counted_nops> && counted_producer<counted_nops> && !one_at_a_time_producer<counted_nops>);
// What prepare<> touches of a loop: the SQ view and the params.
struct counted_loop {
  sq_ring sq;
  struct {
    u32 want = 0, made = 0;
  } params;
};

TEST_CASE("prepare with a counted producer hands out min(wanted, free SQ slots, Batch) SQEs", "[views][sq]") {
  // wanted, SQEs taken before (head/tail mode, 8 slots), Batch 4 or 16
  auto [want, taken_before, expect4, expect16] = GENERATE(table<u32, u32, u32, u32>({
      {0, 0, 0, 0},   // nothing wanted
      {3, 0, 3, 3},   // wanted is the least
      {20, 0, 4, 8},  // Batch, then the SQ's 8 slots
      {20, 5, 3, 3},  // 3 slots left
      {20, 8, 0, 0},  // the SQ is full
      {6, 3, 4, 5},   // Batch 4; then 5 slots left
  }));
  CAPTURE(want, taken_before);
  for (u32 batch : {4u, 16u}) {
    CAPTURE(batch);
    fake_ring f;
    f.word(f.layout.sq_head) = 6;  // the slots wrap past index 7
    f.word(f.layout.sq_tail) = 6;
    counted_loop l{f.sq(), {}};
    for (u32 i = 0; i < taken_before; ++i) prep_nop(*l.sq.next(), udata::from_raw(100 + i));
    l.params.want = want;
    if (batch == 4)
      prepare<counted_nops, 4>::step(l);
    else
      prepare<counted_nops, 16>::step(l);
    const u32 expect = batch == 4 ? expect4 : expect16;
    REQUIRE(l.params.made == expect);
    REQUIRE(l.sq.prepared() == taken_before + expect);
    for (u32 i = 0; i < expect; ++i) {  // in order, after the ones taken before, none overwritten
      REQUIRE(f.sqe_at((6 + taken_before + i) & 7).user_data == i);
      REQUIRE(f.sqe_at((6 + taken_before + i) & 7).opcode == abi::op::nop);
    }
    for (u32 i = 0; i < taken_before; ++i) REQUIRE(f.sqe_at((6 + i) & 7).user_data == 100 + i);
  }
}

TEST_CASE("cq batch walks at most N, in order, and advances the head", "[views][cq]") {
  fake_ring f;
  f.word(f.layout.cq_head) = 14;  // wrap inside the batch
  f.word(f.layout.cq_tail) = 14;
  for (u32 i = 0; i < 6; ++i) f.post(100 + i, s32(i) - 1);
  cq_ring cq = f.cq();
  REQUIRE(cq.ready() == 6);
  REQUIRE(cq.peek().user_data().raw() == 100);
  std::vector<u64> seen;
  for (cqe_view c : cq.batch<4>()) seen.push_back(c.user_data().raw());
  REQUIRE(seen == std::vector<u64>{100, 101, 102, 103});
  REQUIRE(f.word(f.layout.cq_head) == 18);
  REQUIRE(cq.head() == 18);
  seen.clear();
  for (cqe_view c : cq.batch<16>()) seen.push_back(c.user_data().raw());
  REQUIRE(seen == std::vector<u64>{104, 105});
  REQUIRE(cq.ready() == 0);
  for (cqe_view c : cq.batch<16>()) seen.push_back(c.user_data().raw());  // empty batch
  REQUIRE(seen.size() == 2);
  REQUIRE(f.word(f.layout.cq_head) == 20);
}

namespace dispatch_cases {
struct seen {
  u32 a = 0, b = 0, other = 0, payload_sum = 0;
};
struct on_a {
  template <class Loop>
  static void on_cqe(Loop& s, cqe_view v, u32 p) {
    REQUIRE(v.res() == -5);
    s.a++;
    s.payload_sum += p;
  }
};
struct on_b {
  template <class Loop>
  static void on_cqe(Loop& s, cqe_view, u32 p) {
    s.b++;
    s.payload_sum += p;
  }
};
struct other {
  template <class Loop>
  static void on_cqe(Loop& s, cqe_view) {
    s.other++;
  }
};
}  // namespace dispatch_cases

TEST_CASE("dispatch<> goes by the tag in user_data's top byte, payload and all", "[views][cq]") {
  enum class tag : u8 { a = 1, b = 0xfe };
  using ud = user_data<tag, u32>;
  fake_ring f;
  f.post(ud::make(tag::b, 0xfffffffeu).raw(), 0);
  f.post(ud::make(tag::a, 7).raw(), -5);
  f.post(0x00ff'ffff'ffff'ffffull, 0);  // tag 0 with every payload and middle bit set: no case
  cq_ring cq = f.cq();
  cqe_view c = cq.peek();
  REQUIRE(ud::tag_of(c.user_data()) == tag::b);
  REQUIRE(ud::payload_of(c.user_data()) == 0xfffffffeu);

  using namespace dispatch_cases;
  using d = dispatch<ud, on<tag::a, on_a>, on<tag::b, on_b>, otherwise<other>>;
  seen s;
  for (cqe_view v : cq.batch<8>()) d::on_cqe(s, v);
  REQUIRE((s.a == 1 && s.b == 1 && s.other == 1));
  REQUIRE(s.payload_sum == 7u + 0xfffffffeu);
}

TEST_CASE("cq advance releases CQEs one by one", "[views][cq]") {
  fake_ring f;
  f.post(1, 0);
  f.post(2, 0);
  cq_ring cq = f.cq();
  REQUIRE(cq.ready() == 2);
  cq.advance(1);
  REQUIRE(f.word(f.layout.cq_head) == 1);
  REQUIRE(cq.peek().user_data().raw() == 2);
  REQUIRE(cq.ready() == 1);
}

// detail::stale_wake_guard (iouloop/policy.hpp), the kernel engines' guard
// against __io_run_loop calling the step over and over on a stale
// TIF_NOTIFY_SIGNAL (docs/semantics.md, known difference G): it counts the
// calls that find the CQ short of the wait index with the tail unchanged,
// and asks for a re-entry on the stale_wake_limit-th in a row.
TEST_CASE("the stale wake-up guard counts only early calls with nothing new", "[views][cq][guard]") {
  fake_ring f;
  const u32 start = GENERATE(0u, 5u, 0xffffff80u);  // also across the wrap of the 32-bit indices
  CAPTURE(start);
  f.word(f.layout.cq_head) = start;
  f.word(f.layout.cq_tail) = start;
  cq_ring cq = f.cq();
  exit_record x{};
  const u32 want = start + 1;  // the step before asked for one CQE
  // A wait that was met, or none asked for (a run's first call: 0), is not counted.
  REQUIRE_FALSE(detail::stale_wake_guard(cq, start, x));
  REQUIRE(x.idle_steps == 0);
  // Early calls with the tail where it was: counted, the last one asks to enter again.
  for (u32 i = 1; i < detail::stale_wake_limit; ++i) {
    REQUIRE_FALSE(detail::stale_wake_guard(cq, want, x));
    REQUIRE(x.idle_steps == i);
  }
  REQUIRE(x.idle_tail == start);
  REQUIRE(x.reenter == 0);
  REQUIRE(detail::stale_wake_guard(cq, want, x));
  REQUIRE(x.reenter == 1);
  // The host clears reenter and idle_steps when it enters again (run_attached_loop).
  x.reenter = 0;
  x.idle_steps = 0;
  // A CQE that came (but not the two the step now waits for) starts a new count.
  for (u32 i = 0; i < 10; ++i) REQUIRE_FALSE(detail::stale_wake_guard(cq, want, x));
  REQUIRE(x.idle_steps == 10);
  f.post(1, 0);
  REQUIRE_FALSE(detail::stale_wake_guard(cq, start + 2, x));
  REQUIRE(x.idle_tail == start + 1);
  REQUIRE(x.idle_steps == 1);
  // The wait met: not counted, and the count is left as it is (only early calls move it).
  REQUIRE_FALSE(detail::stale_wake_guard(cq, start + 1, x));
  REQUIRE(x.idle_steps == 1);
}

TEST_CASE("cqe_view decodes res and flags", "[views][cqe]") {
  using namespace abi;
  struct row {
    s32 res;
    u32 flags;
    bool ok, more, has_buffer;
    u16 bid;
  };
  auto r = GENERATE(table<s32, u32, bool, bool, bool, u16>({
      {0, 0, true, false, false, 0},
      {-11, 0, false, false, false, 0},
      {512, cqe_flag::more, true, true, false, 0},
      {64, cqe_flag::buffer | (7u << cqe_flag::buffer_shift), true, false, true, 7},
      {64, cqe_flag::buffer | cqe_flag::more | (65535u << cqe_flag::buffer_shift), true, true, true, 65535},
  }));
  cqe_view c(abi::cqe{42, std::get<0>(r), std::get<1>(r)});
  CAPTURE(std::get<0>(r), std::get<1>(r));
  REQUIRE(c.user_data().raw() == 42);
  REQUIRE(c.res() == std::get<0>(r));
  REQUIRE(c.ok() == std::get<2>(r));
  REQUIRE(c.more() == std::get<3>(r));
  REQUIRE(c.has_buffer() == std::get<4>(r));
  if (c.has_buffer()) REQUIRE(c.buffer_id() == std::get<5>(r));
}

TEST_CASE("fixed_rings: the io_rings offsets as constants, sizes and flags from the layout", "[views][layout]") {
  // A fake ring laid out as the kernel's struct io_rings (what the BPF step
  // assumes and the BPF engine checks with rings_abi_matches).
  fake_ring f;
  f.layout.sq_head = io_rings::sq_head;
  f.layout.sq_tail = io_rings::sq_tail;
  f.layout.cq_head = io_rings::cq_head;
  f.layout.cq_tail = io_rings::cq_tail;
  f.layout.cq_cqes = io_rings::cqes;
  f.layout.cq_overflow = 44;
  REQUIRE(rings_abi_matches(f.layout));
  REQUIRE_FALSE(rings_abi_matches(fake_ring{}.layout));
  const fixed_rings<const ring_layout> fixed{f.layout};
  static_assert(fixed_rings<const ring_layout>::cq_cqes == 64);
  REQUIRE(fixed.sq_entries == fake_ring::entries);
  REQUIRE(&fixed.setup_flags == &f.layout.setup_flags);

  f.word(io_rings::sq_head) = 3;
  f.word(io_rings::sq_tail) = 3;
  f.post(7, 0);
  sq_ring sq(f.rings.data(), f.sqes.data(), fixed);
  cq_ring cq(f.rings.data(), fixed);
  REQUIRE(sq.space() == fake_ring::entries);
  REQUIRE(sq.next() == &f.sqe_at(3));
  REQUIRE(sq.flush() == 1);
  REQUIRE(f.word(io_rings::sq_tail) == 4);
  REQUIRE(cq.ready() == 1);
  REQUIRE(cq.peek().user_data().raw() == 7);
}
