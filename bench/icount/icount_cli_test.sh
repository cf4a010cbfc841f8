#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034 # check() evals its conditions, given in single quotes
# bench/icount.sh --program and --agree on this host: bad input is named,
# with what to do, before anything is built or booted (exit 2); check.py
# --agree passes a row within the tolerance of another, either way, and
# fails one beyond it or one that did not run. The rows themselves are
# counted in the VM by tools/test.sh stage 4.
set -u
top=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}
icount=${top}bench/icount.sh
checkpy=${top}bench/icount/check.py
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
# run ARGS...: bench/icount.sh, with out (stdout and stderr) and rc
# (--no-build from an empty directory: input that gets past the checks
# stops there, at once, rather than building and booting)
run() { out=$(ICOUNT_BIN=$tmp/empty "$icount" --no-build --results "$tmp/results" "$@" 2>&1); rc=$?; }

# A program as icount.sh sees one: an executable that ldd does not call dynamic.
prog=$tmp/mine
printf '#!/bin/sh\nexit 0\n' >"$prog" && chmod +x "$prog"
mkdir -p "$tmp/other" && cp "$prog" "$tmp/other/mine" && cp "$prog" "$tmp/iouperf"
dynamic=$(command -v bash)

run --program noequals
check "no '=': what to give" '[ $rc = 2 ] && [[ "$out" == *"give LABEL=PATH [ARG...]"* ]]'
run --program "-x=$prog"
check "a label that is no row name" '[ $rc = 2 ] && [[ "$out" == *"the label '"'"'-x'"'"' names a row"* ]]'
run --program "nop-bpf-d1=$prog"
check "a workload's own label is taken" '[ $rc = 2 ] && [[ "$out" == *"the row nop-bpf-d1 is taken"* ]]'
run --program "a=$prog" --program "a=$prog"
check "one label twice" '[ $rc = 2 ] && [[ "$out" == *"the row a is taken"* ]]'
run --program "a=$tmp/none"
check "no such file" '[ $rc = 2 ] && [[ "$out" == *"'"'$tmp/none'"' is not an executable file"* ]]'
run --program "a=$dynamic"
check "a dynamic binary: link it with -static" '[ $rc = 2 ] && [[ "$out" == *"dynamically linked"*"-static"* ]]'
run --program "a=$prog one 't'"
check "an argument the guest would have to quote" '[ $rc = 2 ] && [[ "$out" == *"the argument '"'"''"'"'t'"'"''"'"' has a character"* ]]'
run --program "a=$tmp/iouperf"
check "a name the guest's /bin has" '[ $rc = 2 ] && [[ "$out" == *"the guest has its own /bin/iouperf"* ]]'
run --program "a=$prog" --program "b=$tmp/other/mine"
check "two programs of one name" '[ $rc = 2 ] && [[ "$out" == *"another --program is also named mine"* ]]'
run --program "a=$prog 1 2" --agree "a=b:x"
check "a bad --agree" '[ $rc = 2 ] && [[ "$out" == *"--agree '"'"'a=b:x'"'"': give A=B or A=B:TOL"* ]]'
check "nothing was made" '[ ! -e "$tmp/results" ]'

printf '{"mine": [{"total": 101.5, "user": 1, "kernel": 100.5}], "theirs": [{"total": 100.0, "user": 1, "kernel": 99}]}' \
  >"$tmp/runs.json"
out=$(python3 "$checkpy" --agree "$tmp/runs.json" mine=theirs theirs=mine:1.6); rc=$?
check "--agree: within the tolerance, either way" '[ $rc = 0 ] && [ "$(grep -c "^@@iouloop-test PASS icount: " <<<"$out")" = 2 ] &&
  [[ "$out" == *"mine agrees with theirs: 101.5 against 100.0 instructions/op (+1.50%, within 2%)"* ]] &&
  [[ "$out" == *"theirs agrees with mine: 100.0 against 101.5 instructions/op (-1.48%, within 1.6%)"* ]]'
out=$(python3 "$checkpy" --agree "$tmp/runs.json" mine=theirs:1); rc=$?
check "--agree: beyond it fails" '[ $rc = 1 ] && [[ "$out" == "@@iouloop-test FAIL icount: mine agrees with theirs: "*"beyond 1%)" ]]'
out=$(python3 "$checkpy" --agree "$tmp/runs.json" mine=gone); rc=$?
check "--agree: a row that did not run fails" '[ $rc = 1 ] && [[ "$out" == *"FAIL icount: mine agrees with gone: no result for gone"* ]]'

# report.py: a directory that is not a boot's is named; the ratios'
# heading comes with a pair only (a run of your own programs alone has none).
reportpy=${top}bench/icount/report.py
boot() {  # boot DIR LABEL...: one region per label, 1,000 kernel instructions per op
  mkdir -p "$1" && local d=$1 id=0 l && shift
  : >"$d/plugin.log" && : >"$d/console.log"
  for l in "$@"; do
    printf 'MARK seq=0 payload=%d vcpu=0 host_ns=1000 cpu0=0,0,0,0,0\n' $((0x100 | id)) >>"$d/plugin.log"
    printf 'MARK seq=1 payload=%d vcpu=0 host_ns=2000 cpu0=0,10000,0,0,0\n' $((0x200 | id)) >>"$d/plugin.log"
    printf '@@iouperf region id=%d label=%s ops=10 guest_ns=1000\n' "$id" "$l" >>"$d/console.log"
    id=$((id + 1))
  done
}
out=$(python3 "$reportpy" "$tmp/runs.json" 2>&1); rc=$?
check "report.py: not a boot's directory" '[ $rc = 2 ] && [[ "$out" == *"$tmp/runs.json is not a boot'"'"'s directory (it has no plugin.log or console.log)"* ]]'
boot "$tmp/alone" mine
out=$(python3 "$reportpy" "$tmp/alone"); rc=$?
check "report.py: your rows alone, no ratios" '[ $rc = 0 ] && [[ "$out" == *"mine "*" 1000.0 "* ]] && [[ "$out" != *"ratios of"* ]]'
boot "$tmp/pair" nop-bpf-d1 nop-user-d1
out=$(python3 "$reportpy" "$tmp/pair"); rc=$?
check "report.py: a pair, its ratio" '[ $rc = 0 ] && [[ "$out" == *"ratios of instructions per op"*"nop-bpf-d1 "*"/ nop-user-d1 "*" 1.000 "* ]]'

# hist.py names a user-mode block by the row's program (RESULTS/user/rows.txt,
# which icount.sh --hist writes): by symbol, by inlined function, by source
# line (--user symbol|inlined|line); an address outside the program is "user: ?", and a row with
# no program recorded keeps "user". The block is hist_fixture_probe's first
# three instructions, at the address nm gives; one kernel block beside it.
histpy=${top}bench/icount/hist.py
fixture=$(realpath "${top}bench/icount/hist_fixture")
va=$(nm "$fixture" | awk '$3 == "hist_fixture_probe" { print $1 }')
h=$tmp/hist/boot1
mkdir -p "$h" "$tmp/hist/user"
{
  echo "@@kallsyms-begin"
  printf 'ffffffff81000000 T _stext\nffffffff81000100 T iou_kernel_fn\n' | gzip | base64
  echo "@@kallsyms-end"
  echo "@@iouperf region id=0 label=mine ops=10 guest_ns=1000"
} >"$h/console.log"
{
  echo "HIST id=0 rank=0 vaddr=0x$va n=3 mode=0 rep=0 execs=100 insns=300"
  echo "HIST id=0 rank=1 vaddr=0xffffffff81000110 n=2 mode=1 rep=0 execs=100 insns=200"
  echo "HIST id=0 rank=2 vaddr=0x7fff00001000 n=1 mode=0 rep=0 execs=50 insns=50"
} >"$h/plugin.log"
echo "mine $fixture" >"$tmp/hist/user/rows.txt"
out=$(python3 "$histpy" "$h" --label mine --mode all --sort cost 2>&1); rc=$?
check "hist.py: a user block named by its function" '[ $rc = 0 ] && [ -n "$va" ] &&
  grep -Eq "^user: hist_fixture_probe +30\.0$" <<<"$out" && grep -Eq "^iou_kernel_fn +20\.0$" <<<"$out" &&
  grep -Eq "^user: \? +5\.0$" <<<"$out"'
out=$(python3 "$histpy" "$h" --label mine --mode user --sort cost --user inlined 2>&1); rc=$?
check "hist.py --user inlined: by the instructions' function" '[ $rc = 0 ] && grep -Eq "^user: hist_fixture_probe +30\.0$" <<<"$out"'
out=$(python3 "$histpy" "$h" --label mine --mode user --sort cost --user line 2>&1); rc=$?
check "hist.py --user line: by source line, the block split per instruction" '[ $rc = 0 ] &&
  [ "$(grep -c "^user: hist_fixture_probe hist_fixture.c:[0-9]" <<<"$out")" -ge 1 ] &&
  [ "$(grep "^user: hist_fixture_probe " <<<"$out" | awk "{ s += \$NF } END { print s }")" = 30 ]'
rm "$tmp/hist/user/rows.txt"
out=$(python3 "$histpy" "$h" --label mine --mode user --sort cost 2>&1); rc=$?
check "hist.py: no program recorded, user blocks stay user" '[ $rc = 0 ] && grep -Eq "^user +35\.0$" <<<"$out"'
exit $fail
