// Deterministic bytes for examples and tests: the same seed gives the same
// stream everywhere (a demo's input, a client's requests, a test's files),
// so that what comes back can be checked by regenerating it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iouloop_examples {

// xorshift64, seeded through a multiply so that nearby seeds differ at once.
class byte_stream {
 public:
  explicit byte_stream(uint64_t seed) : x_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {
    if (!x_) x_ = 1;
  }
  uint64_t next64() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return x_;
  }
  uint8_t next() { return static_cast<uint8_t>(next64() >> 32); }

 private:
  uint64_t x_;
};

// `n` bytes of the stream for `seed`.
inline std::vector<unsigned char> pattern(size_t n, uint64_t seed) {
  std::vector<unsigned char> v(n);
  byte_stream s(seed);
  for (auto& b : v) b = s.next();
  return v;
}

}  // namespace iouloop_examples
