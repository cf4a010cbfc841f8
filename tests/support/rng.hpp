// The randomised tests' one generator (splitmix64) and how they read their
// settings (seed, case counts) from the environment. Every randomised test
// prints its seed; the same seed replays the same cases.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace iouloop_test {

struct rng {
  uint64_t s;
  uint64_t next() {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return uint32_t(next() % n); }
  bool one_in(uint32_t n) { return below(n) == 0; }
};

// The value of environment variable `name` as a number, or `fallback`.
inline uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace iouloop_test
