#!/usr/bin/env bash
# Checks of the VM harness itself (tools/vm/run.sh), booting the test kernel:
#   1. a program over its time limit is killed and named, with its last line
#      of output, and the next program still runs;
#   2. the VM's overall limit (--timeout) names the program that was running;
#   3. a VM that dies before /init is booted again, at most 3 times, and the
#      output says so.
# It boots QEMU (about a minute or two under TCG), so it runs from
# tools/test.sh's VM stage rather than as a Bazel test (QEMU inside Bazel's
# sandbox is not reliable). Prints "@@iouloop-test PASS|FAIL vm-harness: ..."
# per check. Exit 0 when all pass, 1 when one fails, 77 when the VM cannot
# run here (or there is no C compiler for the two static test programs).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "SKIPPED: VM harness checks: no C compiler ($cc)"; exit 77; }
work=$(mktemp -d /tmp/iouloop-vm-selftest.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/hang.c" <<'C'
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("hang: case 7 started\n"); for (;;) pause(); }
C
cat >"$work/after.c" <<'C'
#include <stdio.h>
int main(void) { printf("after: ran\n"); return 0; }
C
for p in hang after; do
  "$cc" -static -O1 -o "$work/$p" "$work/$p.c" 2>"$work/cc.out" ||
    { cat "$work/cc.out"; echo "SKIPPED: VM harness checks: $cc -static does not work here"; exit 77; }
done

status=0
# check NAME FILE PATTERN...: every (fixed-string) PATTERN is a line of FILE.
check() {
  local name=$1 file=$2 p; shift 2
  for p in "$@"; do
    if ! grep -qxF -- "$p" "$file"; then
      echo "@@iouloop-test FAIL vm-harness: $name (missing: $p)"
      sed 's/^/    | /' "$file"
      status=1; return
    fi
  done
  echo "@@iouloop-test PASS vm-harness: $name"
}

# 1. Per-program limit.
"$here/run.sh" --timeout 600 --program-timeout hang=5 "$work/hang" "$work/after" >"$work/1.out" 2>&1
rc=$?
[ $rc = 77 ] && { grep '^SKIPPED' "$work/1.out"; exit 77; }
echo "rc=$rc" >>"$work/1.out"
check "a program over its --program-timeout is killed and named, the next one runs" "$work/1.out" \
  "hang: case 7 started" \
  "vm: hang did not finish: killed after 5 s (time limit); its last line: hang: case 7 started" \
  "after: ran" "vm: after exited 0" "rc=1"

# 2. The VM's overall limit names the running program.
"$here/run.sh" --timeout 75 "$work/after" "$work/hang" >"$work/2.out" 2>&1
echo "rc=$?" >>"$work/2.out"
check "the VM's --timeout names the program that was running" "$work/2.out" \
  "vm: after exited 0" \
  "vm: hang did not finish: QEMU killed after 75 s (the VM's time limit, --timeout) while it was running; its last line: hang: case 7 started" \
  "rc=1"

# 3. A VM that dies before /init (here: QEMU cannot load the kernel) is retried.
echo "not a kernel" >"$work/bad-vmlinuz"
IOULOOP_VM_KERNEL=$work/bad-vmlinuz "$here/run.sh" "$work/after" >"$work/3.out" 2>&1
echo "rc=$?" >>"$work/3.out"
sed -i 's/\(attempt [0-9] of 3\)): .*; booting again$/\1): ...; booting again/;
        s/^\(run.sh: the VM did not reach \/init in 3 attempts\) .*/\1 .../' "$work/3.out"
check "a VM that dies before /init is booted again, at most 3 times, and says so" "$work/3.out" \
  "run.sh: the VM died before any test started (attempt 1 of 3): ...; booting again" \
  "run.sh: the VM died before any test started (attempt 2 of 3): ...; booting again" \
  "run.sh: the VM did not reach /init in 3 attempts ..." "rc=1"
exit $status
