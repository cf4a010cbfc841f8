// The typed param region: layout, initial contents, registration rules.
#include <sys/mman.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdint>

#include "iouloop/iouloop.hpp"
#include "iouloop/probe.hpp"

namespace {
struct params {
  iouloop::u32 a;
  iouloop::u64 b;
  iouloop::u8 tail[100];
};
template <class Params, iouloop::usize Bytes = 4096>
struct policy {
  using params_type = Params;
  static constexpr iouloop::usize param_region_bytes = Bytes;
  template <class Loop>
  static int step(Loop&) {
    return iouloop::loop_stop;
  }
};
}  // namespace

TEST_CASE("param_region: page-aligned, initialised from the value given, zero elsewhere", "[params]") {
  iouloop::param_region<policy<params>> r(params{7, 9, {1, 2, 3}});
  REQUIRE(reinterpret_cast<std::uintptr_t>(r.data()) % 4096 == 0);
  REQUIRE(&*r == r.data());
  REQUIRE(r->a == 7);
  REQUIRE(r->b == 9);
  REQUIRE(r->tail[2] == 3);
  REQUIRE(r->tail[3] == 0);
  const auto* bytes = static_cast<const unsigned char*>(r.data());
  for (iouloop::usize i = sizeof(params); i < 4096; ++i) REQUIRE(bytes[i] == 0);
  r->a = 11;
  REQUIRE(r.get().a == 11);
}

TEST_CASE("param_region: a declared larger region is that large", "[params]") {
  using big = policy<params, 3 * 4096>;
  STATIC_REQUIRE(iouloop::param_region<big>::bytes == 3 * 4096);
  iouloop::param_region<big> r;
  auto* last = static_cast<volatile unsigned char*>(r.data()) + 3 * 4096 - 1;
  *last = 5;  // the whole region is mapped
  REQUIRE(*last == 5);
}

TEST_CASE("param_region: one per ring, as the kernel says", "[params]") {
  iouloop::ring ring;
  iouloop::param_region<policy<params>> first, second;
  const int e = first.try_register(ring);
  if (e == -EINVAL) SKIP("this kernel lacks IORING_REGISTER_MEM_REGION (Linux 6.13+)");
  REQUIRE(e == 0);
  REQUIRE(first.registered_with() == ring.fd());
  REQUIRE(second.try_register(ring) == -EBUSY);
  REQUIRE(second.registered_with() == -1);
  // The engine accepts the registered one and names the problem with the other.
  REQUIRE_NOTHROW(iouloop::userspace_engine<policy<params>>(ring, first));
  REQUIRE_THROWS_WITH(iouloop::userspace_engine<policy<params>>(ring, second),
                      Catch::Matchers::ContainsSubstring("already has a param region"));
}

// run_attached_loop(fd, exit) enters again only when the glue's guard asked
// for it in that very enter (detail::stale_wake_guard): the flag is cleared
// before each enter, so one left in the record does not make a run that
// ended otherwise go on. A ring without loop ops fails the enter at once.
TEST_CASE("run_attached_loop: a re-entry request left in the record is not followed", "[params][guard]") {
  iouloop::ring ring;
  iouloop::exit_record x{};
  x.reenter = 1;
  x.idle_steps = 7;
  const int ret = iouloop::run_attached_loop(ring.fd(), x);
  CAPTURE(ret);
  REQUIRE(ret < 0);  // -EFAULT from 6.13 (io_get_ext_arg_reg); before, the flags themselves are refused
  REQUIRE(x.reenter == 0);
  REQUIRE(x.reentries == 0);
  REQUIRE(x.idle_steps == 7);  // the guard's own count: only a re-entry resets it
}

// ring_options (iouloop/engine/ring.hpp): SUBMIT_ALL by default, head and
// tail by default, SQ_REWIND when asked "where supported" exactly where the
// kernel has it (io_uring_sanitise_params refuses the flag before 7.1 with
// EINVAL, and the ring asks again without it).
TEST_CASE("a ring asked for SQ_REWIND where supported gets it exactly where the kernel has it", "[owned][rewind]") {
  namespace setup = iouloop::abi::setup;
  const bool kernel_has_it = iouloop::probe().sq_rewind;
  CAPTURE(kernel_has_it);
  iouloop::ring d;
  CHECK((d.flags() & setup::sq_rewind) == 0);
  CHECK((d.flags() & setup::submit_all) != 0);
  iouloop::ring_options o;
  o.sq_rewind_where_supported = true;
  iouloop::ring r(o);
  CHECK(((r.flags() & setup::sq_rewind) != 0) == kernel_has_it);
  CHECK((r.layout().setup_flags & setup::sq_rewind) == (r.flags() & setup::sq_rewind));
  // Not without NO_SQARRAY (the kernel would refuse the pair).
  iouloop::ring_options a = o;
  a.flags &= ~setup::no_sqarray;
  iouloop::ring with_array(a);
  CHECK((with_array.flags() & setup::sq_rewind) == 0);
  // Asked for by name where the kernel lacks it: the error says so.
  if (!kernel_has_it) {
    iouloop::ring_options n;
    n.flags |= setup::sq_rewind;
    REQUIRE_THROWS_WITH(iouloop::ring(n), Catch::Matchers::ContainsSubstring("does not know IORING_SETUP_SQ_REWIND"));
  }
}
