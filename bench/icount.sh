#!/usr/bin/env bash
# bench/icount.sh: executed guest instructions per operation (user, kernel,
# total) for iouloop's BPF engine, its userspace engine, hand-written liburing
# loops and liburing's own BPF tests, all in one boot of the test kernel under
# QEMU/TCG, counted by a TCG plugin between markers (bench/icount/README.md).
# Prints the table; --check compares it with a baseline (tools/test.sh does).
#
#   bench/icount.sh [--profile full|ci] [--rounds R] [--boots B] [--only REGEX]
#                   [--program 'LABEL=PATH [ARG...]']... [--agree A=B[:TOL]]...
#                   [--settle-ms MS] [--n N] [--mib M] [--net-requests R] [--mode tb|insn] [--realtime]
#                   [--hist N] [--results DIR] [--no-build] [--check BASELINE]
#                   [-- bazel flags...]
#
#   --profile full  every workload, 2 rounds, 60 s guest pause before each
#                   region (default)
#   --profile ci    the NOP and copy workloads of the regression guard
#                   (bench/icount_baseline.txt), 2 rounds, 5 s pause
#   --rounds R      each workload R times in the boot (runs one after another)
#   --boots B       B separate boots, all in one table
#   --only REGEX    only the workloads whose label matches (grep -E)
#   --program 'LABEL=PATH [ARG...]'
#                   also count a program of your own: PATH, a static x86-64
#                   binary, runs in the VM as /bin/<its name> with ARGs, once
#                   per round, in the row LABEL. It marks what to count with
#                   bench/icount/marker.h (iou_region_begin_env, iou_region_end,
#                   iou_region_report_env(&r, ops)); bench/icount/own_program.cc
#                   is a template. Repeatable. Without --only, the full profile
#                   then runs your programs alone (add --only REGEX to run some
#                   of the workloads above beside them); the ci profile keeps its rows.
#   --agree A=B[:TOL]
#                   check that row A counts within TOL% (default 2) of row B,
#                   either way: "@@iouloop-test PASS|FAIL icount: ..." and exit
#                   1 if not (tools/test.sh checks own_program's rows so)
#   --module KO     also nop-kmod-d1/d8/d32 and cp-kmod-4k-d1/64k-d1: the NOP chain and
#                   the copy on kernel_engine (nop::policy, cp::policy compiled into
#                   kernel/kmod's iouloop_kmod.ko, insmodded in the VM)
#   --settle-ms MS  guest pause before each region (idle: under -icount it
#                   costs almost no host time)
#   --n N, --mib M  NOPs per NOP run (20000), MiB per copy (16)
#   --ticks T       ticks per timer run (200, 10 ms apart: examples/timer)
#   --requests R    requests per connection in the echo runs (200; 8
#                   connections, 512 bytes each: examples/echo)
#   --net-requests R
#                   requests in the net-*-c1 runs (2000; 512 bytes, ping-pong);
#                   the c64 runs make R/50 per connection (bench/net/README.md)
#   --mode insn     count per instruction rather than per translation block
#                   (slow; a cross-check)
#   --realtime      QEMU's default clock instead of -icount (wall-clock ops/s
#                   in the table mean something then; counts vary more)
#   --hist N        also each region's N hottest blocks, the guest's
#                   kallsyms and each row's program (RESULTS/user), for
#                   bench/icount/hist.py (per-function costs, kernel and user)
#   --results DIR   where plugin.log, console.log, table.txt, runs.json go
#                   (default ${TMPDIR:-/tmp}/iouloop-icount/<time>); the
#                   build goes to DIR/bin
#   --no-build      run the programs already in $ICOUNT_BIN, else in the
#                   --results DIR's bin/ (an earlier run's), instead of
#                   building them
#   --check FILE    compare with a baseline; prints "@@iouloop-test PASS|FAIL
#                   icount: ..." per workload (bench/icount/check.py); exit 1
#                   if one failed. To move the baseline (in the commit that
#                   moves the counts): bench/icount/check.py --update "REASON"
#                   --environment "$(cat RESULTS/environment.txt)" FILE RESULTS/runs.json
#
# Each workload is its own program in the VM (tools/vm/run.sh) with its own
# time limit in guest seconds (the pause + 120 s); a hang is named
# ("vm: r1-nop-bpf-d1 did not finish: killed after ..."). Exit status: 0, 1
# (a build failed, a workload failed, a check failed), 77 (no VM here:
# "SKIPPED: ...").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
here=$top/bench/icount
profile=full rounds="" boots=1 only="" settle="" n=20000 mib=16 ticks=200 requests=200 net_requests=2000 mode=tb icount=1 hist=0 results="" build=1 check="" kmod=""
programs=() agrees=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --boots) boots=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --program) programs+=("$2"); shift 2 ;;
    --agree) agrees+=("$2"); shift 2 ;;
    --settle-ms) settle=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --ticks) ticks=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --net-requests) net_requests=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --realtime) icount=0; shift ;;
    --hist) hist=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --check) check=$2; shift 2 ;;
    --module) [ -f "$2" ] || { echo "icount.sh: --module: no file $2" >&2; exit 2; }; kmod=$(realpath "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "icount.sh: unknown option $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
bazel_flags=("$@")

blk64=65536
# label|command in the guest (@ID@: the region id). The label must be what
# the program prints in its "@@iouperf region" line.
all=(
  "nop-bpf-d1|iouperf @ID@ nop-bpf $n 1"
  "nop-bpf-any-d1|iouperf @ID@ nop-bpf-any $n 1"
  "nop-c-d1|iouperf @ID@ nop-c $n 1"
  "nop-byhand-d1|iouperf @ID@ nop-byhand $n 1"
  "nop-user-d1|iouperf @ID@ nop-user $n 1"
  "nop-liburing-d1|iouperf @ID@ nop-liburing $n 1"
  "nop-bpf-d8|iouperf @ID@ nop-bpf $n 8"
  "nop-bpf-any-d8|iouperf @ID@ nop-bpf-any $n 8"
  "nop-c-d8|iouperf @ID@ nop-c $n 8"
  "nop-byhand-d8|iouperf @ID@ nop-byhand $n 8"
  "nop-user-d8|iouperf @ID@ nop-user $n 8"
  "nop-liburing-d8|iouperf @ID@ nop-liburing $n 8"
  "upstream-bpf_nops-d8|IOUPERF_ID=@ID@ bpf_nops"
  "nop-bpf-d32|iouperf @ID@ nop-bpf $n 32"
  "nop-bpf-any-d32|iouperf @ID@ nop-bpf-any $n 32"
  "nop-c-d32|iouperf @ID@ nop-c $n 32"
  "nop-byhand-d32|iouperf @ID@ nop-byhand $n 32"
  "nop-user-d32|iouperf @ID@ nop-user $n 32"
  "nop-liburing-d32|iouperf @ID@ nop-liburing $n 32"
  "floor-b256|iouperf @ID@ floor $n 256"
  "cp-bpf-4k-d1|iouperf @ID@ cp-bpf $mib 4096 1"
  "cp-user-4k-d1|iouperf @ID@ cp-user $mib 4096 1"
  "cp-liburing-4k-d1|iouperf @ID@ cp-liburing $mib 4096 1"
  "cp-bpf-unlinked-4k-d1|iouperf @ID@ cp-bpf-unlinked $mib 4096 1"
  "cp-user-unlinked-4k-d1|iouperf @ID@ cp-user-unlinked $mib 4096 1"
  "cp-bpf-serial-4k-d1|iouperf @ID@ cp-bpf-serial $mib 4096 1"
  "cp-user-serial-4k-d1|iouperf @ID@ cp-user-serial $mib 4096 1"
  "upstream-bpf_cp-4k-d1|IOUPERF_ID=@ID@ bpf_cp_4k /tmp/cp-src /tmp/cp-dst"
  "cp-bpf-64k-d1|iouperf @ID@ cp-bpf $mib $blk64 1"
  "cp-user-64k-d1|iouperf @ID@ cp-user $mib $blk64 1"
  "cp-liburing-64k-d1|iouperf @ID@ cp-liburing $mib $blk64 1"
  "cp-bpf-unlinked-64k-d1|iouperf @ID@ cp-bpf-unlinked $mib $blk64 1"
  "cp-bpf-serial-64k-d1|iouperf @ID@ cp-bpf-serial $mib $blk64 1"
  "upstream-bpf_cp-64k-d1|IOUPERF_ID=@ID@ bpf_cp_64k /tmp/cp-src /tmp/cp-dst"
  "cp-bpf-64k-d16|iouperf @ID@ cp-bpf $mib $blk64 16"
  "cp-user-64k-d16|iouperf @ID@ cp-user $mib $blk64 16"
  "cp-liburing-64k-d16|iouperf @ID@ cp-liburing $mib $blk64 16"
  "cp-bpf-64k-d16-over|iouperf @ID@ cp-bpf $mib $blk64 16 over"
  "cp-user-64k-d16-over|iouperf @ID@ cp-user $mib $blk64 16 over"
  "cp-liburing-64k-d16-over|iouperf @ID@ cp-liburing $mib $blk64 16 over"
  "echo-bpf-c8-512|iouperf @ID@ echo-bpf 8 $requests 512"
  "echo-user-c8-512|iouperf @ID@ echo-user 8 $requests 512"
  "timer-bpf-p10|iouperf @ID@ timer-bpf $ticks 10"
  "timer-user-p10|iouperf @ID@ timer-user $ticks 10"
  "selftest|selftest @ID@"
)
# Echo servers on loopback under one load (bench/net): examples/echo2 on
# both engines, a plain epoll server and a hand-written liburing one. The
# load generator starts the server (same vCPU), connects, warms every
# connection up, then marks only the request phase; counted per request,
# load generator included. 1 connection ping-pong, and 64 connections
# (ping-pong each). Not in the ci profile nor in the baseline.
netport=7100
for c in 1 64; do
  reqs=$((c == 1 ? net_requests : (net_requests + 49) / 50))
  for s in "bpf|/bin/echo2 --engine bpf" "user|/bin/echo2 --engine userspace" "epoll|/bin/epoll_echo" "liburing|/bin/liburing_echo"; do
    netport=$((netport + 1))
    all+=("net-${s%%|*}-c$c|loadgen --region @ID@ --label net-${s%%|*}-c$c --port $netport --connections $c --bytes 512 --depth 1 --requests $reqs -- ${s#*|} --port $netport --clients $c")
  done
done
# --module KO (kernel/kmod/build.sh's iouloop_kmod.ko): also the NOP chain
# on the native-callback engine (kernel_engine, nop::policy compiled into the
# module); the VM insmods it. Not in the baseline.
[ -n "$kmod" ] && all+=("nop-kmod-d1|iouperf @ID@ nop-kmod $n 1" "nop-kmod-d8|iouperf @ID@ nop-kmod $n 8"
  "nop-kmod-d32|iouperf @ID@ nop-kmod $n 32" "cp-kmod-4k-d1|iouperf @ID@ cp-kmod $mib 4096 1"
  "cp-kmod-64k-d1|iouperf @ID@ cp-kmod $mib $blk64 1")
case "$profile" in
  full) : "${rounds:=2}" "${settle:=60000}" ;;
  # The regression guard: NOPs at every depth, the floor, copies of 4 KiB and
  # 64 KiB one block at a time (both of cp's shapes), liburing's tests; not the 16-deep copies into
  # a new file (up to 7% apart between runs: the page allocator).
  ci) : "${rounds:=2}" "${settle:=5000}"
      [ -n "$only" ] || only='^(nop-|floor|upstream-|cp-[a-z]+(-unlinked|-serial)?-(4k|64k)-d1$)' ;;
  *) echo "icount.sh: --profile full|ci" >&2; exit 2 ;;
esac
# Bad values are named here, before anything is built or booted.
bad() { echo "icount.sh: $*" >&2; exit 2; }
# --program: your programs join the list as rows of their own (own: their
# labels; ownfiles: run.sh's --file for each). The names the guest's /bin
# already has, and the labels of the workloads above, are taken.
own=() ownfiles=()
taken_names=" iouperf selftest bpf_nops bpf_cp_4k bpf_cp_64k loadgen echo2 epoll_echo liburing_echo "
declare -A own_path=()
for spec in ${programs[@]+"${programs[@]}"}; do
  [[ "$spec" == *=* ]] || bad "--program '$spec': give LABEL=PATH [ARG...], such as 'mine=bazel-bin/bench/icount/own_program bpf 20000 8'"
  label=${spec%%=*}
  read -r -a words <<<"${spec#*=}"
  path=${words[0]:-}
  [[ "$label" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] ||
    bad "--program '$spec': the label '$label' names a row: letters, digits, '.', '_' and '-', not first"
  for w in "${all[@]}"; do
    [ "${w%%|*}" != "$label" ] || bad "--program '$spec': the row $label is taken: choose another label"
  done
  if [ -z "$path" ] || [ ! -f "$path" ] || [ ! -x "$path" ]; then bad "--program '$spec': '$path' is not an executable file"; fi
  ! ldd "$path" >/dev/null 2>&1 ||
    bad "--program '$spec': $path is dynamically linked, and the VM has no shared libraries: link it with -static (Bazel: linkopts = [\"-static\"])"
  for a in "${words[@]:1}"; do
    [[ "$a" =~ ^[A-Za-z0-9._,:/=+%-]+$ ]] ||
      bad "--program '$spec': the argument '$a' has a character the guest's script would have to quote: letters, digits and ._,:/=+%- only"
  done
  name=$(basename "$path") real=$(realpath "$path")
  [[ "$taken_names" != *" $name "* ]] || bad "--program '$spec': the guest has its own /bin/$name: copy $path under another name"
  if [ -n "${own_path[$name]:-}" ] && [ "${own_path[$name]}" != "$real" ]; then
    bad "--program '$spec': another --program is also named $name (${own_path[$name]}): copy one under another name"
  fi
  [ -n "${own_path[$name]:-}" ] || ownfiles+=(--file "$real")
  own_path[$name]=$real
  own+=("$label")
  all+=("$label|IOUPERF_ID=@ID@ IOUPERF_LABEL=$label $name ${words[*]:1}")
done
for a in ${agrees[@]+"${agrees[@]}"}; do
  [[ "$a" =~ ^[A-Za-z0-9._-]+=[A-Za-z0-9._-]+(:[0-9]+(\.[0-9]+)?)?$ ]] ||
    bad "--agree '$a': give A=B or A=B:TOL, two rows' labels and a tolerance in percent (default 2)"
done
# own: is $1 one of your programs' rows; selected: does the row run
is_own() { local o; for o in ${own[@]+"${own[@]}"}; do [ "$o" = "$1" ] && return 0; done; return 1; }
[ "$profile" = full ] && [ -z "$only" ] && [ ${#own[@]} -gt 0 ] && only='^$'   # your programs alone
selected() { is_own "$1" || [ -z "$only" ] || echo "$1" | grep -Eq "$only"; }
for v in "rounds=$rounds" "boots=$boots" "settle-ms=$settle" "n=$n" "mib=$mib" "ticks=$ticks" "requests=$requests" \
  "net-requests=$net_requests" "hist=$hist"; do
  [[ "${v#*=}" =~ ^[0-9]+$ ]] || bad "--${v%%=*} ${v#*=}: not a whole number"
done
for v in "rounds=$rounds" "boots=$boots" "n=$n" "mib=$mib" "ticks=$ticks" "requests=$requests" "net-requests=$net_requests"; do
  [ "${v#*=}" -ge 1 ] || bad "--${v%%=*} 0: at least 1"
done
case "$mode" in tb | insn) ;; *) bad "--mode $mode: tb or insn" ;; esac
[ -z "$check" ] || [ -f "$check" ] || bad "--check $check: no such baseline file (bench/icount_baseline.txt is the checked-in one)"
[ "$icount" = 1 ] || [ "$settle" -le 5000 ] || settle=1000   # real time: keep it short
per_round=$((${#all[@]} + 3))   # region ids per round: one per workload, the selftest takes 4
[ $((rounds * per_round)) -le 256 ] || { echo "icount.sh: at most $((256 / per_round)) rounds" >&2; exit 2; }
limit=$((settle / 1000 + 120))   # per program, guest seconds

# the net-* programs are built and put in the VM only when one is selected
net=0
# printk=1: a selected program calls bpf_printk (liburing's bpf_cp), whose
# load turns on the scheduler's command-line probes for the rest of the
# boot; every row then runs in that state from the start (prepare, below).
printk=0
for w in "${all[@]}"; do
  label=${w%%|*}
  selected "$label" || continue
  case "$label" in
    net-*) net=1 ;;
    upstream-bpf_cp-*) printk=1 ;;
  esac
done
results=${results:-${TMPDIR:-/tmp}/iouloop-icount/$(date +%Y%m%d-%H%M%S)}
out=$results/bin
mkdir -p "$out"
if [ "$build" = 1 ]; then
  echo "icount.sh: building (log: $results/build.log)" >&2
  set +e
  ICOUNT_NET=$net "$here/build.sh" "$out" ${bazel_flags[@]+"${bazel_flags[@]}"} >"$results/build.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" = 77 ]; then grep -m1 '^SKIPPED' "$results/build.log"; exit 77; fi
  [ "$rc" = 0 ] || { tail -n 30 "$results/build.log"; echo "icount.sh: the build failed ($results/build.log)" >&2; exit 1; }
else
  out=${ICOUNT_BIN:-$out}
  need=(insn_count.so iouperf selftest bpf_nops bpf_cp_4k bpf_cp_64k)
  [ "$net" = 1 ] && need+=(loadgen echo2 epoll_echo liburing_echo)
  missing=()
  for f in "${need[@]}"; do [ -e "$out/$f" ] || missing+=("$f"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "icount.sh: --no-build: $out lacks ${missing[*]}: give an earlier run's --results DIR (or" \
      "ICOUNT_BIN=DIR/bin), or leave out --no-build" >&2
    exit 2
  fi
fi

# One program per workload and round: a busybox sh script named
# r<round>-<label>, so that run.sh gives each its own time limit and names it.
progs=$results/progs
rm -rf "$progs" && mkdir -p "$progs"
# --hist: each row's guest program, for hist.py's user-mode functions
# (RESULTS/user/rows.txt: LABEL FILE; your programs are copied there, so a
# later rebuild does not change what the addresses name)
userdir=$results/user
[ "$hist" = 0 ] || { rm -rf "$userdir" && mkdir -p "$userdir"; }
user_binary() {
  local f=$out/$2
  if [ -n "${own_path[$2]:-}" ]; then
    f=$userdir/$2
    [ -e "$f" ] || cp "${own_path[$2]}" "$f"
  fi
  echo "$1 $(realpath "$f")" >>"$userdir/rows.txt"
}
taskset="taskset 1 "   # the workload on vCPU 0; the other one stays idle
{
  echo '#!/bin/sh'
  echo "echo \"@@iouperf config profile=$profile n=$n mib=$mib rounds=$rounds mode=$mode icount=$icount settle_ms=$settle iouloop=$(cat "$out/iouloop-commit.txt" 2>/dev/null)\""
  echo "grep -m1 'model name' /proc/cpuinfo"
  echo "dd if=/dev/urandom of=/tmp/cp-src bs=1048576 count=$mib 2>/dev/null"
  # every row in the tracing state bpf_cp's bpf_printk leaves (iouperf.cc, trace_printk_state)
  if [ "$printk" = 1 ]; then echo "/bin/iouperf trace-printk-state || exit \$?"; fi
} >"$progs/prepare"
list=("$progs/prepare")
labels=()
limits=()
for ((r = 0; r < rounds; r++)); do
  k=0
  for w in "${all[@]}"; do
    label=${w%%|*} cmd=${w#*|}
    id=$((r * per_round + k))
    k=$((k + 1))
    [ "$label" = selftest ] && k=$((k + 3))   # selftest uses 4 ids
    selected "$label" || continue
    [ "$r" = 0 ] && labels+=("$label")
    cmd=${cmd//@ID@/$id}
    envs=""
    while [[ "$cmd" =~ ^([A-Za-z_][A-Za-z0-9_]*=[^ ]*)\ (.*)$ ]]; do
      envs+="${BASH_REMATCH[1]} " cmd=${BASH_REMATCH[2]}
    done
    [ "$r" = 0 ] && [ "$hist" != 0 ] && user_binary "$label" "${cmd%% *}"
    p=$progs/r$((r + 1))-$label
    {
      echo '#!/bin/sh'
      echo "cd /tmp"
      echo "${envs}${taskset}/bin/${cmd} || exit \$?"
      case "$cmd" in
        *bpf_cp*) echo "cmp /tmp/cp-src /tmp/cp-dst >/dev/null || { echo 'icount: the copy differs'; exit 1; }; rm -f /tmp/cp-dst" ;;
      esac
    } >"$p"
    list+=("$p")
    # selftest: four regions, four pauses
    [ "$label" = selftest ] && limits+=(--program-timeout "r$((r + 1))-selftest=$((4 * settle / 1000 + 120))")
  done
done
if [ "$hist" != 0 ]; then
  { echo '#!/bin/sh'
    echo "echo @@kallsyms-begin; grep -E ' [tTwW] ' /proc/kallsyms | gzip -9 | base64; echo @@kallsyms-end"
  } >"$progs/kallsyms"
  list+=("$progs/kallsyms")
fi
chmod +x "$progs"/*
[ ${#labels[@]} -gt 0 ] || { echo "icount.sh: no workload matches '$only'" >&2; exit 2; }

# The VM's limit, host seconds: boot, plus about ten times what a workload
# takes here (1-3 s each in the CI profile)
vm=(--timeout $((300 + ${#list[@]} * 20)) --program-timeout "$limit" ${limits[@]+"${limits[@]}"} --env "IOUPERF_SETTLE_MS=$settle"
    --kernel-args "damon_stat.enabled=0")
[ "$icount" = 1 ] && vm+=(--qemu-arg -icount --qemu-arg shift=0,sleep=off)
netfiles=()
[ "$net" = 1 ] && for f in loadgen echo2 epoll_echo liburing_echo; do netfiles+=(--file "$out/$f"); done
status=0
for ((b = 1; b <= boots; b++)); do
  rd=$results/boot$b
  mkdir -p "$rd"
  echo "icount.sh: boot $b of $boots: ${#labels[@]} workloads x $rounds rounds, pause ${settle} ms ($rd)" >&2
  t0=$SECONDS
  set +e
  "$top/tools/vm/run.sh" "${vm[@]}" ${kmod:+--module "$kmod"} --plugin "$out/insn_count.so,out=$rd/plugin.log,mode=$mode$([ "$hist" != 0 ] && echo ",hist=$hist")" \
    --file "$out/iouperf" --file "$out/selftest" --file "$out/bpf_nops" --file "$out/bpf_cp_4k" --file "$out/bpf_cp_64k" ${netfiles[@]+"${netfiles[@]}"} ${ownfiles[@]+"${ownfiles[@]}"} \
    --log "$rd/console.log" "${list[@]}" >"$rd/vm.out" 2>&1
  rc=$?
  set -e
  echo "icount.sh: boot $b: $((SECONDS - t0)) s, run.sh exit $rc" >&2
  if [ "$rc" = 77 ]; then grep -m1 '^SKIPPED' "$rd/vm.out" || echo "SKIPPED: icount: the VM cannot run here"; exit 77; fi
  # what did not run or failed: named, with its last line
  grep -E '^vm: ' "$rd/vm.out" | grep -v ' exited 0$' >&2 || true
  grep -E '^run\.sh: ' "$rd/vm.out" >&2 || true
  [ "$rc" = 0 ] || status=1
done
rds=()
for ((b = 1; b <= boots; b++)); do rds+=("$results/boot$b"); done
python3 "$here/report.py" --json "$results/runs.json" "${rds[@]}" | tee "$results/table.txt"
python3 "$here/report.py" --raw "${rds[@]}" >"$results/table-raw.txt"
kernel=$(sed -n 's/^@@iouloop-vm kernel //p' "$results/boot1/console.log" | head -n1)
echo "kernel=${kernel:-unknown} $(cat "$out/environment.txt" 2>/dev/null)" >"$results/environment.txt"
echo "environment: $(cat "$results/environment.txt")"
echo "results: $results (table.txt, table-raw.txt, runs.json, boot*/plugin.log, boot*/console.log)"
if [ -n "$check" ]; then
  vm_outs=()
  for rd in "${rds[@]}"; do vm_outs+=(--vm-out "$rd/vm.out"); done
  # the baseline's rows: your programs have none
  guarded=()
  for l in "${labels[@]}"; do is_own "$l" || guarded+=("$l"); done
  if [ ${#guarded[@]} -eq 0 ]; then
    echo "icount.sh: --check: none of the baseline's workloads ran (your programs have no baseline): nothing checked" >&2
  else
    python3 "$here/check.py" "${vm_outs[@]}" --environment "$(cat "$results/environment.txt")" "$check" \
      "$results/runs.json" "${guarded[@]}" || status=1
  fi
fi
if [ ${#agrees[@]} -gt 0 ]; then
  python3 "$here/check.py" --agree "$results/runs.json" "${agrees[@]}" || status=1
fi
exit $status
