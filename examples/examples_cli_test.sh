#!/usr/bin/env bash
# The example programs as a user runs them: each does its job on the default
# engine and exits 0, and refuses bad input with a named error and exit 1.
set -u
here=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}examples
tmp=${TEST_TMPDIR:-$(mktemp -d)}
export TMPDIR=$tmp
TEST_NAME=examples_cli_test
# shellcheck source=tests/support/cli_expect.sh
source "${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}tests/support/cli_expect.sh"

expect "cp --demo copies and verifies" 0 "output verified byte for byte" "$here/cp/cp" --demo 8 --block 4096 --depth 8
expect "cp --unlinked --demo copies and verifies" 0 "output verified byte for byte" "$here/cp/cp" --unlinked --demo 8 --block 4096 --depth 8
expect "cp --serial --demo copies and verifies" 0 "output verified byte for byte" "$here/cp/cp" --serial --demo 8 --block 4096 --depth 1
expect "cp refuses --unlinked with --serial" 1 "--unlinked and --serial are two shapes of the copy: choose one" "$here/cp/cp" --unlinked --serial --demo 1
head -c 300001 /dev/urandom >"$tmp/src"
expect "cp SRC DST copies a file" 0 "copied 300001 bytes" "$here/cp/cp" "$tmp/src" "$tmp/dst"
if cmp -s "$tmp/src" "$tmp/dst"; then verdict PASS "cp output equals its input"; else verdict FAIL "cp output equals its input"; fi
expect "cp names a bad depth" 1 "--depth 100 is outside 1 .. 64" "$here/cp/cp" --depth 100 "$tmp/src" "$tmp/dst"
expect "cp names a missing source" 1 "cannot open $tmp/nope for reading" "$here/cp/cp" "$tmp/nope" "$tmp/dst"
expect "cp names an unknown engine" 1 "unknown engine 'fast'" "$here/cp/cp" --engine fast "$tmp/src" "$tmp/dst"
expect "nop runs the composed policy" 0 "20000 NOPs completed \(0 errors\)" "$here/nop/nop" --total 20000 --depth 8
expect "echo --selftest serves and checks clients" 0 "." "$here/echo/echo" --selftest 4
expect "echo2 --selftest serves many clients from one buffer ring" 0 "selftest: 300 clients" "$here/echo2/echo2" --selftest 300 --buffers 16 --buffer-bytes 512
expect "echo2 names a table too small for its selftest" 1 "needs as many slots" "$here/echo2/echo2" --selftest 50 --table 10
expect "echo2 --threads 2: one loop per thread on one port, every byte checked" 0 "selftest: 300 clients over 2 loops" "$here/echo2/echo2" --threads 2 --selftest 300
expect "echo2 names a thread count out of range" 1 "--threads 0 is outside 1 .. 64" "$here/echo2/echo2" --threads 0
expect "echo2 names an --address that is not IPv4" 1 "--address wants an IPv4 address such as 127.0.0.1 or 0.0.0.0, not 'localhost'" "$here/echo2/echo2" --address localhost
expect "echo2 names an --address this machine does not have" 1 "203.0.113.254 is no address of this machine" "$here/echo2/echo2" --address 203.0.113.254
expect "echo2 names a slot cap out of range" 1 "may hold 1 .. 255 buffers" "$here/echo2/echo2" --slot-cap 300
expect "proxy --selftest relays many clients through its own echo upstream" 0 "selftest: 200 clients, [0-9]+ bytes relayed both ways" "$here/proxy/proxy" --selftest 200 --buffers 16 --buffer-bytes 512
expect "proxy names a table too small for its selftest" 1 "needs two slots each" "$here/proxy/proxy" --selftest 50 --table 10
expect "proxy names a bad upstream" 1 "is not IPV4:PORT" "$here/proxy/proxy" --upstream localhost
expect "proxy wants an IPv6 upstream in brackets" 1 "is not IPV4:PORT or \\[IPV6\\]:PORT" "$here/proxy/proxy" --upstream ::1:7000
expect "proxy wants the interface of a link-local upstream" 1 "is link-local: add its interface, as fe80::1%eth0" "$here/proxy/proxy" --upstream '[fe80::1]:7000'
expect "proxy names a zone that is no interface" 1 "names no interface of this machine: 'nosuch0'" "$here/proxy/proxy" --upstream '[fe80::1%nosuch0]:7000'
expect "proxy names an IPv6 upstream's slot cap out of range (the address itself was taken)" 1 "may hold 1 .. 255 buffers" "$here/proxy/proxy" --upstream '[::1]:7000' --slot-cap 300
expect "proxy names a slot cap out of range" 1 "may hold 1 .. 255 buffers" "$here/proxy/proxy" --upstream 127.0.0.1:7000 --slot-cap 300
expect "timer ticks and logs" 0 "." "$here/timer/timer" --period-ms 20 --ticks 3 --log "$tmp/timer.log"
exit $fail
