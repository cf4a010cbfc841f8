// Command-line helpers shared by the example programs: `--flag VALUE` pairs
// with errors that name the flag.
#pragma once

#include <arpa/inet.h>

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

// An IPv4 address in dotted form (network byte order), or a named error.
inline in_addr_t ipv4(const char* flag, const std::string& s) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1)
    throw iouloop::error(EINVAL,
                         std::string(flag) + " wants an IPv4 address such as 127.0.0.1 or 0.0.0.0, not '" + s + "'");
  return a.s_addr;
}

}  // namespace example
