// Command-line helpers shared by the example programs: `--flag VALUE` pairs
// with errors that name the flag.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string>

#include "iouloop/engine/error.hpp"

namespace example {

// The value after argv[i] (for `flag`); advances i.
inline const char* value_of(int argc, char** argv, int& i, const char* flag) {
  if (i + 1 >= argc) throw iouloop::error(EINVAL, std::string(flag) + " needs a value");
  return argv[++i];
}

// A non-negative decimal number, or a named error.
inline unsigned long number(const char* flag, const char* s) {
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(s, &end, 10);
  if (!*s || *end || errno || s[0] == '-')
    throw iouloop::error(EINVAL, std::string(flag) + " wants a number, not '" + s + "'");
  return v;
}

}  // namespace example
