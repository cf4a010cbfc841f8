#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034 # check() evals its conditions, given in single quotes
# tools/vm/fetch-kernel.sh --matrix: the kernel matrix of tools/test.sh
# stage 8 is the series given and every later series the archive ships, so
# a new Debian kernel with io_uring_bpf_ops (7.1 and later) is tested from
# its first upload. IOULOOP_KERNEL_FOUND stands for the archive (no network
# here); stage 8 asks the archive itself on every run.
set -u
top=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}
fetch=${top}tools/vm/fetch-kernel.sh
export IOULOOP_KERNEL_DIR=${TEST_TMPDIR:-$(mktemp -d)}/kernels
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
# matrix FOUND FLOOR...: sets out, err, rc.
matrix() {
  local found=$1; shift
  out=$(IOULOOP_KERNEL_FOUND=$found "$fetch" --matrix "$@" 2>"$IOULOOP_KERNEL_DIR.err"); rc=$?
  err=$(cat "$IOULOOP_KERNEL_DIR.err")
}

matrix "6.12 7.0 7.1 7.2 7.3" 7.1 7.2 7.3
check "the archive as today: the list as given" '[ "$out" = "7.1 7.2 7.3" ] && [ $rc = 0 ]'
check "nothing added, and it says so" '[[ "$err" != *added* ]] && [[ "$err" == *"ships no series beyond the list (7.1 7.2 7.3)"* ]]'

matrix "6.12 7.0 7.1 7.2 7.3 7.4" 7.1 7.2 7.3
check "a new series joins" '[ "$out" = "7.1 7.2 7.3 7.4" ]'
check "and is named on stderr" '[[ "$err" == *"added: 7.4"* ]]'

matrix "7.9 8.0 7.10 7.2" 7.1 7.2 7.3
check "by version: 7.10 after 7.9, 8.0 last" '[ "$out" = "7.1 7.2 7.3 7.9 7.10 8.0" ]'

matrix "6.12 7.0" 7.1 7.2 7.3
check "series before 7.1 (no io_uring_bpf_ops) are not added" '[ "$out" = "7.1 7.2 7.3" ]'

matrix "7.2 7.3" 7.1 7.2 7.3
check "a series the archive dropped stays (fetch-kernel.sh --series uses the cache)" '[ "$out" = "7.1 7.2 7.3" ]'

matrix "" 7.1 7.2 7.3
check "no series found: the list as given" '[ "$out" = "7.1 7.2 7.3" ] && [ $rc = 0 ]'

matrix "7.4 linux 7" 7.1 7.2 7.3
check "a word that is not a series is ignored, and named" '[ "$out" = "7.1 7.2 7.3 7.4" ] && [[ "$err" == *"'\''linux'\'' is not a series"* ]]'

matrix "7.4" 7.1 seven
check "a bad series given: exit 2, naming it" '[ $rc = 2 ] && [ -z "$out" ] && [[ "$err" == *"'\''seven'\'' is not a series such as 7.1"* ]]'

matrix "7.4"
check "no series given: exit 2, saying what to pass" '[ $rc = 2 ] && [[ "$err" == *"--matrix 7.1 7.2 7.3"* ]]'

# No package lists at all (an apt directory that cannot be made stands for a
# machine that never reached the archive): the list as given, and why.
out=$(IOULOOP_APT_DIR=/dev/null/apt "$fetch" --matrix 7.1 7.2 7.3 2>"$IOULOOP_KERNEL_DIR.err"); rc=$?
err=$(cat "$IOULOOP_KERNEL_DIR.err")
check "offline: the list as given" '[ "$out" = "7.1 7.2 7.3" ] && [ $rc = 0 ]'
check "offline: says so" '[[ "$err" == *"could be read (offline?)"* ]]'

[ $fail = 0 ] && echo "@@iouloop-test PASS kernel_matrix_test: fetch-kernel.sh --matrix" ||
  echo "@@iouloop-test FAIL kernel_matrix_test: fetch-kernel.sh --matrix"
exit $fail
