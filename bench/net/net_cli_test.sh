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
# A port per pair, below the ephemeral range (32768 and up: other tests'
# client sockets take those) and not listening now; a server that still
# finds it taken (another test bound it meanwhile) is retried on another.
port() { local p; for p in $(shuf -i 20000-32000 -n 20); do ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }; done; echo 0; }
# pair NAME PATTERN LOADGEN-ARGS -- SERVER ARGS: expect with a fresh port
# (@PORT@ in the arguments), up to 5 ports while the server says "in use".
pair() {
  local name=$1 pattern=$2; shift 2
  local p out rc args
  for _ in 1 2 3 4 5; do
    p=$(port)
    args=("${@//@PORT@/$p}")
    out=$(timeout 120 "${args[@]}" 2>&1); rc=$?
    grep -q "is in use" <<<"$out" || break
  done
  if [ "$rc" = 0 ] && grep -qE -- "$pattern" <<<"$out"; then verdict PASS "$name"
  else echo "$out" | tail -n 20; verdict FAIL "$name (exit $rc, wanted 0 and /$pattern/)"; fi
}

pair "loadgen on epoll_echo: 1 connection, ping-pong" "200 requests, 102400 bytes each way, 0 failures" \
  "$load" --port @PORT@ --connections 1 --requests 200 -- "${top}bench/net/epoll_echo" --port @PORT@ --clients 1
pair "loadgen on liburing_echo: 16 connections, depth 4" "800 requests, 409600 bytes each way, 0 failures" \
  "$load" --port @PORT@ --connections 16 --depth 4 --requests 50 -- "${top}bench/net/liburing_echo" --port @PORT@ --clients 16
pair "loadgen on echo2 (userspace engine): 64 connections, 3000-byte requests" "1280 requests, 3840000 bytes each way, 0 failures" \
  "$load" --port @PORT@ --connections 64 --bytes 3000 --requests 20 -- "${top}examples/echo2/echo2" --engine userspace --port @PORT@ --clients 64
pair "loadgen on echo2 --threads 2 --address 0.0.0.0 (as bench/percore.sh --load host serves it in the VM)" "640 requests, 327680 bytes each way, 0 failures" \
  "$load" --port @PORT@ --connections 32 --requests 20 -- "${top}examples/echo2/echo2" --engine userspace --threads 2 --address 0.0.0.0 --port @PORT@ --clients 32
expect "loadgen names a request size out of range" 1 "--bytes: 1 .. 65536" "$load" --port 1 --bytes 0
p=$(port)
expect "loadgen names a server that exits with an error" 1 "epoll_echo exited 1" \
  "$load" --port "$p" --connections 1 --requests 1 -- "${top}bench/net/epoll_echo" --port "$p" --clients 0 --no-such-flag
exit $fail
