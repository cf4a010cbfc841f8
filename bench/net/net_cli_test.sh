#!/usr/bin/env bash
# bench/net as bench/icount.sh runs it, on this host: the load generator
# against each server (the two peers and examples/echo2 on the userspace
# engine), every byte checked, each server exiting 0 once its clients are
# gone; and bad input named. The VM runs the same pairs for the counts
# (bench/icount.sh --only '^net-').
set -u
top=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}
TEST_NAME=net_cli_test
# shellcheck source=tests/support/cli_expect.sh
source "${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}tests/support/cli_expect.sh"
load=${top}bench/net/loadgen
# a free port per pair: the kernel's choice, read back (python-free)
port() { local p; for p in $(shuf -i 20000-60000 -n 20); do ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }; done; echo 0; }

p=$(port)
expect "loadgen on epoll_echo: 1 connection, ping-pong" 0 "200 requests, 102400 bytes each way, 0 failures" \
  "$load" --port "$p" --connections 1 --requests 200 -- "${top}bench/net/epoll_echo" --port "$p" --clients 1
p=$(port)
expect "loadgen on liburing_echo: 16 connections, depth 4" 0 "800 requests, 409600 bytes each way, 0 failures" \
  "$load" --port "$p" --connections 16 --depth 4 --requests 50 -- "${top}bench/net/liburing_echo" --port "$p" --clients 16
p=$(port)
expect "loadgen on echo2 (userspace engine): 64 connections, 3000-byte requests" 0 "1280 requests, 3840000 bytes each way, 0 failures" \
  "$load" --port "$p" --connections 64 --bytes 3000 --requests 20 -- "${top}examples/echo2/echo2" --engine userspace --port "$p" --clients 64
expect "loadgen names a request size out of range" 1 "--bytes: 1 .. 65536" "$load" --port 1 --bytes 0
p=$(port)
expect "loadgen names a server that exits with an error" 1 "epoll_echo exited 1" \
  "$load" --port "$p" --connections 1 --requests 1 -- "${top}bench/net/epoll_echo" --port "$p" --clients 0 --no-such-flag
exit $fail
