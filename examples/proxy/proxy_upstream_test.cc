// The proxy's --upstream (proxy_host::parse_upstream): numeric addresses,
// IPv6 in brackets, and the zone of a link-local IPv6 address (an interface
// name or index after '%'), which goes into the connect's sin6_scope_id.
// Each bad form gets a message that says what to write instead.
#include <net/if.h>
#include <netinet/in.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>
#include <string>

#include "examples/proxy/proxy_host.hpp"

using Catch::Matchers::ContainsSubstring;
using proxy_host::parse_upstream;
using proxy_host::server_config;

namespace {

sockaddr_in6 v6_of(const server_config& c) {
  proxy::socket_address a;
  REQUIRE(proxy_host::upstream_problem(c, a) == "");
  REQUIRE(a.family == AF_INET6);
  REQUIRE(a.length == sizeof(sockaddr_in6));
  sockaddr_in6 v6{};
  std::memcpy(&v6, &a, sizeof v6);
  return v6;
}

}  // namespace

TEST_CASE("proxy --upstream: IPv4, and IPv6 in brackets", "[proxy][upstream]") {
  server_config c;
  REQUIRE(parse_upstream("127.0.0.1:7000", c) == "");
  REQUIRE((c.upstream_host == "127.0.0.1" && c.upstream_port == 7000));
  REQUIRE(parse_upstream("[::1]:7001", c) == "");
  REQUIRE((c.upstream_host == "::1" && c.upstream_port == 7001));
  REQUIRE(v6_of(c).sin6_scope_id == 0);
  REQUIRE(ntohs(v6_of(c).sin6_port) == 7001);

  const server_config before = c;
  CHECK_THAT(parse_upstream("localhost", c), ContainsSubstring("is not IPV4:PORT or [IPV6]:PORT"));
  CHECK_THAT(parse_upstream("::1:7000", c), ContainsSubstring("is not IPV4:PORT or [IPV6]:PORT"));
  CHECK_THAT(parse_upstream("[127.0.0.1]:7000", c), ContainsSubstring("is not IPV4:PORT or [IPV6]:PORT"));
  CHECK_THAT(parse_upstream("localhost:7000", c), ContainsSubstring("not a numeric IPv4 or IPv6 address"));
  CHECK_THAT(parse_upstream("127.0.0.1:70000", c), ContainsSubstring("the port is 1 .. 65535"));
  CHECK_THAT(parse_upstream("127.0.0.1:0", c), ContainsSubstring("the port is 1 .. 65535"));
  REQUIRE((c.upstream_host == before.upstream_host && c.upstream_port == before.upstream_port));  // unchanged
}

TEST_CASE("proxy --upstream: a link-local IPv6 address needs its zone, by name or index", "[proxy][upstream]") {
  // tcp_v6_connect() refuses a link-local address whose sin6_scope_id is 0
  // (-EINVAL): the parser asks for the interface instead.
  server_config c;
  CHECK_THAT(parse_upstream("[fe80::1]:7000", c),
             ContainsSubstring("is link-local: add its interface, as fe80::1%eth0"));

  const unsigned lo = ::if_nametoindex("lo");
  REQUIRE(lo != 0);
  REQUIRE(parse_upstream("[fe80::1%lo]:7000", c) == "");
  REQUIRE(c.upstream_host == "fe80::1%lo");
  sockaddr_in6 a = v6_of(c);
  REQUIRE(a.sin6_scope_id == lo);
  in6_addr want{};
  REQUIRE(::inet_pton(AF_INET6, "fe80::1", &want) == 1);
  REQUIRE(std::memcmp(&a.sin6_addr, &want, sizeof want) == 0);
  REQUIRE(ntohs(a.sin6_port) == 7000);

  REQUIRE(parse_upstream("[fe80::2%" + std::to_string(lo) + "]:7002", c) == "");
  REQUIRE(v6_of(c).sin6_scope_id == lo);

  // A zone on an address that is not link-local is kept (the kernel uses it
  // to pick the interface); an IPv4 address has none.
  REQUIRE(parse_upstream("[::1%lo]:7003", c) == "");
  REQUIRE(v6_of(c).sin6_scope_id == lo);

  CHECK_THAT(parse_upstream("[fe80::1%no-such-if0]:7000", c),
             ContainsSubstring("names no interface of this machine: 'no-such-if0'"));
  CHECK_THAT(parse_upstream("[fe80::1%]:7000", c), ContainsSubstring("has nothing after %"));
  CHECK_THAT(parse_upstream("[fe80::1%0]:7000", c), ContainsSubstring("names no interface"));
  CHECK_THAT(parse_upstream("[fe80::1%99999999999]:7000", c), ContainsSubstring("names no interface"));
  CHECK_THAT(parse_upstream("127.0.0.1%lo:7000", c), ContainsSubstring("is IPv4, which has no zone"));
  REQUIRE(c.upstream_host == "::1%lo");  // unchanged by the refusals
}
