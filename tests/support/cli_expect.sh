# shellcheck shell=bash
# Sourced by the shell tests that run programs as a user would
# (examples/examples_cli_test.sh, bench/net/net_cli_test.sh): set TEST_NAME
# first. verdict prints the "@@iouloop-test" line tools/test.sh counts;
# expect runs a command with a 120 s limit and checks its exit status and
# output. $fail is 1 once a case failed: end the test with `exit $fail`.
fail=0
verdict() { echo "@@iouloop-test $1 $TEST_NAME: $2"; [ "$1" = PASS ] || fail=1; }
# expect NAME RC PATTERN CMD...: CMD exits RC and prints PATTERN.
expect() {
  local name=$1 want_rc=$2 pattern=$3; shift 3
  local out rc
  out=$(timeout 120 "$@" 2>&1); rc=$?
  if [ "$rc" = "$want_rc" ] && grep -qE -- "$pattern" <<<"$out"; then verdict PASS "$name"
  else echo "$out" | tail -n 20; verdict FAIL "$name (exit $rc, wanted $want_rc and /$pattern/)"; fi
}
