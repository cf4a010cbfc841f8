// Mistakes that must not compile. tests/compile_fail/compile_fail_test.sh
// compiles this file once per CASE_* and requires the named diagnostic; with
// no CASE_* defined it must compile (the control: the harness itself works).
#include "iouloop/iouloop.hpp"

using namespace iouloop;

struct small_params {
  u32 a;
};
struct huge_params {
  u8 bytes[4097];  // one byte more than the default region
};
struct not_shareable {
  not_shareable() {}
  not_shareable(const not_shareable&) {}  // not trivially copyable
  u32 a;
};

template <class Params>
struct trivial_policy {
  using params_type = Params;
  template <class Loop>
  static int step(Loop&) {
    return loop_stop;
  }
};

enum class tag : u8 { a = 1 };

#if defined(CASE_PARAMS_TOO_LARGE)
param_region<trivial_policy<huge_params>> region;
#elif defined(CASE_PARAMS_TOO_LARGE_FOR_DECLARED_REGION)
struct declared : trivial_policy<u8[8193]> {
  static constexpr usize param_region_bytes = 8192;
};
param_region<declared> region;
#elif defined(CASE_PARAMS_NOT_SHAREABLE)
param_region<trivial_policy<not_shareable>> region;
#elif defined(CASE_REGION_NOT_PAGES)
struct odd : trivial_policy<small_params> {
  static constexpr usize param_region_bytes = 1000;
};
param_region<odd> region;
#elif defined(CASE_USER_DATA_TOO_WIDE)
u64 raw = user_data<tag, u64>::make(tag::a, 1);
#elif defined(CASE_USER_DATA_SIGNED_PAYLOAD)
u64 raw = user_data<tag, int>::make(tag::a, -1);
#elif defined(CASE_STEP_NOT_INT)
struct bad_step {
  using params_type = small_params;
  template <class Loop>
  static bool step(Loop&) {
    return true;
  }
};
param_region<bad_step> region;
#else
// The control: everything above, used correctly.
param_region<trivial_policy<small_params>> region;
struct exactly_two_pages : trivial_policy<u8[8192]> {
  static constexpr usize param_region_bytes = 8192;
};
param_region<exactly_two_pages>* two_pages = nullptr;
u64 raw = user_data<tag, u32>::make(tag::a, 1);
#endif

int main() { return 0; }
