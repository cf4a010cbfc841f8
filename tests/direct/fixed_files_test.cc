// iouloop/engine/fixed_files.hpp: one table per ring, gone with its owner.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "iouloop/iouloop.hpp"

using namespace iouloop;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("fixed_file_table registers empty slots and unregisters them when it goes", "[direct]") {
  ring r;
  {
    fixed_file_table t(r, 16);
    REQUIRE(t.slots() == 16);
    REQUIRE_THROWS_WITH(fixed_file_table(r, 4),
                        ContainsSubstring("the ring already has one") && ContainsSubstring("[EBUSY"));
    fixed_file_table moved(std::move(t));
    REQUIRE(moved.slots() == 16);
    REQUIRE(t.reset() == 0);  // moved from: nothing to do
  }
  fixed_file_table again(r, 4);  // the first one is gone
  REQUIRE(again.reset() == 0);
  REQUIRE(sys::io_uring_register(r.fd(), abi::unregister_files, nullptr, 0) == -ENXIO);
  REQUIRE_THROWS_WITH(fixed_file_table(r, 0), ContainsSubstring("[EINVAL"));
}
