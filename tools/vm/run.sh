#!/usr/bin/env bash
# Boot the test kernel (a kernel with io_uring_bpf_ops) under QEMU/TCG with a
# small initramfs and run programs inside it; their output comes back on the
# serial console.
#
#   run.sh [--timeout SECS] [--program-timeout [NAME=]SECS]... [--boot-timeout SECS]
#          [--args "ARGS"] [--env NAME=VALUE]... [--log FILE]
#          [--file FILE]... [--module KO]... [--plugin SO[,ARG=V...]] [--qemu-arg ARG]... [--kernel-args "ARGS"]
#          [--mttcg] [--tap] [--console FILE]
#          PROGRAM...
#
# Each PROGRAM must be statically linked; it runs as /bin/<name> ARGS with
# IOULOOP_IN_VM=1, in order. The console shows
#   @@iouloop-vm begin <name> limit=<S>  ...its output...  @@iouloop-vm end <name> rc=<N>
# and this script prints each program's output with the markers stripped.
#
# Time limits:
#   --timeout SECS          the whole VM (default 600); when it is hit, the
#                           program that was running is named.
#   --program-timeout SECS  each program (default 900); NAME=SECS sets it for
#                           the program NAME only (repeatable). A program over
#                           its limit gets SIGTERM (Catch2 then names the
#                           running test case), SIGKILL 10 s later; its end
#                           marker says rc=timeout, this script prints
#                           "vm: NAME did not finish: killed after S s (time
#                           limit)", and the next program runs.
#   --boot-timeout SECS     from QEMU's start to /init's first line (default 300).
# A boot that dies before /init prints its first line (no test has started:
# e.g. a kernel panic during boot) is retried, at most twice, and this script
# says so ("run.sh: the VM died before any test started (attempt 1 of 3): ...").
# A boot in which a program started is never retried.
#
# --file FILE puts FILE (static, if a binary) in the guest's /bin without
# running it: for PROGRAMs that are scripts calling it.
#
# --module KO copies a kernel module into the guest's /lib/modules-iouloop and
# insmods it (busybox insmod, in the order given) before the first PROGRAM;
# this script prints "vm: insmod NAME.ko rc=N", and a module that does not
# load fails the run (exit 1) after the programs ran. Build one with
# kernel/kmod/build.sh.
#
# Measurement (bench/icount.sh): --plugin loads a QEMU TCG plugin
# (-plugin SO,ARGS), --qemu-arg adds one argument to QEMU's command line
# (e.g. "-icount" then "shift=0,sleep=off": the guest clock then follows the
# instruction count, so the time limits above are in guest seconds, and idle
# time costs nothing), --kernel-args appends to the kernel command line.
#
# --mttcg runs the two vCPUs on two host threads (-accel tcg,thread=multi)
# instead of one, for throughput with more than one guest thread
# (bench/percore.sh); see the note at boot() for why it is not the default.
#
# --tap gives the guest a network card (virtio-net) on a tap device of this
# machine, made for the run and deleted after it: this side 10.0.3.1/24, the
# guest 10.0.3.2/24, so that a load from the host reaches a server in the
# guest (bench/percore.sh --load host). It needs root (CAP_NET_ADMIN) and
# /dev/net/tun, and 10.0.3.0/24 free; one such VM at a time. (QEMU's
# user-mode network needs neither, but its one thread, which runs the TCP
# stack of every connection, carried less than one guest vCPU does: measured
# with percore's load, docs/echo2.md.) The card's driver is a module in
# Debian's kernel: pass failover.ko, net_failover.ko and virtio_net.ko with
# --module, in that order (tools/vm/fetch-kernel.sh --net-modules fetches
# them and prints their directory). /init brings eth0 up after the modules
# and prints "vm: net eth0 10.0.3.2 rc=N"; a card that does not come up fails
# the run. Without --tap the guest has no card.
#
# --console FILE writes the serial console to FILE as the guest prints it
# (each boot starts it again), for a caller that waits for a line from the
# guest while the VM runs.
#
# Exit status: 0 when every program ran and exited 0; 1 when one failed or
# did not finish; 77 when the VM cannot run here (the reason is printed as
# "SKIPPED: ...").
set -euo pipefail
timeout_s=600
program_timeout=900
program_limits=""   # "NAME=SECS ..." overrides
boot_timeout=300
attempts=3
args=""
log=""
envs=""
plugin=""
qemu_args=()
kernel_args=""
files=()
modules=()
accel=tcg,thread=single
tap=""
console=""
is_secs() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=$2; is_secs "$2" || { echo "run.sh: --timeout wants seconds" >&2; exit 2; }; shift 2 ;;
    --program-timeout)
      if is_secs "$2"; then program_timeout=$2
      elif [[ "$2" =~ ^[A-Za-z0-9_.+-]+=[1-9][0-9]*$ ]]; then program_limits="$program_limits $2"
      else echo "run.sh: --program-timeout wants SECS or NAME=SECS" >&2; exit 2; fi
      shift 2 ;;
    --boot-timeout) boot_timeout=$2; is_secs "$2" || { echo "run.sh: --boot-timeout wants seconds" >&2; exit 2; }; shift 2 ;;
    --args) args=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --plugin) plugin=$2; [ -f "${2%%,*}" ] || { echo "run.sh: --plugin: no file ${2%%,*}" >&2; exit 2; }; shift 2 ;;
    --qemu-arg) qemu_args+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --module) modules+=("$2"); shift 2 ;;
    --kernel-args) kernel_args=$2; shift 2 ;;
    --mttcg) accel=tcg,thread=multi; shift ;;
    --tap) tap=iouvm$$; shift ;;
    --console) console=$2; shift 2 ;;
    --env)
      [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_.,:/+-]*$ ]] || { echo "run.sh: --env wants NAME=VALUE (plain characters)" >&2; exit 2; }
      envs="$envs export $2;"; shift 2 ;;
    --) shift; break ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: run.sh [--timeout S] [--program-timeout [NAME=]S] [--args A] [--log F] PROGRAM..." >&2; exit 2; }

skip() { echo "SKIPPED: VM tests: $*"; exit 77; }

kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
kernel=${IOULOOP_VM_KERNEL:-$kdir/current/vmlinuz}
qemu=$(command -v qemu-system-x86_64 || true)
busybox=$(command -v busybox || true)
[ -n "$qemu" ] || skip "qemu-system-x86_64 not installed (run tools/setup.sh)"
[ -f "$kernel" ] || skip "no test kernel at $kernel (run tools/vm/fetch-kernel.sh; it needs the Debian package registry)"
[ -n "$busybox" ] && file_is_static=$(ldd "$busybox" 2>&1 || true)
case "${file_is_static:-dynamic}" in *"not a dynamic"*|*"statically linked"*) ;; *) skip "busybox is missing or not static (install busybox-static)";; esac

qpid=""
work=$(mktemp -d /tmp/iouloop-vm.XXXXXX)
tap_made=""
trap '[ -n "$qpid" ] && kill "$qpid" 2>/dev/null; [ -n "$tap_made" ] && ip link del "$tap_made" 2>/dev/null; rm -rf "$work"' EXIT
if [ -n "$tap" ]; then
  [ -c /dev/net/tun ] || { echo "run.sh: --tap needs /dev/net/tun" >&2; exit 2; }
  if ip -4 -o addr show | grep -q ' 10\.0\.3\.'; then
    echo "run.sh: --tap: 10.0.3.0/24 is in use here already (another VM with --tap? $(ip -4 -o addr show | grep ' 10\.0\.3\.' | awk '{print $2}' | head -n1))" >&2; exit 2
  fi
  ip tuntap add dev "$tap" mode tap || { echo "run.sh: --tap: cannot make a tap device (it needs root: CAP_NET_ADMIN)" >&2; exit 2; }
  tap_made=$tap
  ip addr add 10.0.3.1/24 dev "$tap" && ip link set "$tap" up || { echo "run.sh: --tap: cannot configure $tap" >&2; exit 2; }
fi
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run}
cp "$busybox" "$root/bin/busybox"
for p in "$@"; do
  [ -x "$p" ] || { echo "run.sh: $p is not an executable" >&2; exit 2; }
  if ldd "$p" >/dev/null 2>&1; then echo "run.sh: $p is dynamically linked; build it with -static" >&2; exit 2; fi
  cp "$p" "$root/bin/$(basename "$p")"
done
for f in ${files[@]+"${files[@]}"}; do
  [ -f "$f" ] || { echo "run.sh: --file $f: no such file" >&2; exit 2; }
  if ldd "$f" >/dev/null 2>&1; then echo "run.sh: --file $f is dynamically linked; build it with -static" >&2; exit 2; fi
  cp "$f" "$root/bin/$(basename "$f")"
done
mkdir -p "$root/lib/modules-iouloop"
insmods=""
for m in ${modules[@]+"${modules[@]}"}; do
  [ -f "$m" ] && [[ "$m" == *.ko ]] || { echo "run.sh: --module $m: no such .ko file" >&2; exit 2; }
  cp "$m" "$root/lib/modules-iouloop/"
  insmods="$insmods $(basename "$m")"
done
names=$(for p in "$@"; do basename "$p"; done | tr '\n' ' ')
# limit_of NAME: the program's time limit in seconds.
limit_of() {
  local l=$program_timeout kv
  for kv in $program_limits; do [ "${kv%%=*}" = "$1" ] && l=${kv#*=}; done
  echo "$l"
}
for kv in $program_limits; do
  case " $names " in *" ${kv%%=*} "*) ;; *) echo "run.sh: --program-timeout ${kv}: no program named ${kv%%=*}" >&2; exit 2 ;; esac
done
limits=$(for n in $names; do printf '%s=%s ' "$n" "$(limit_of "$n")"; done)

# /init. Each program runs under busybox timeout: SIGTERM at its limit (a
# Catch2 binary reports the test case it was in, and stdio to the console is
# line-buffered, so every finished line is out), SIGKILL 10 s later if it is
# still there. "rc=timeout" when it exited non-zero at or past its limit.
cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin IOULOOP_IN_VM=1 HOME=/tmp TMPDIR=/tmp
$envs
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "@@iouloop-vm kernel \$(uname -r)"
for m in $insmods; do
  insmod /lib/modules-iouloop/\$m
  echo "@@iouloop-vm insmod \$m rc=\$?"
done
if [ -n "$tap" ]; then
  ip link set lo up && ip link set eth0 up && ip addr add 10.0.3.2/24 dev eth0
  echo "@@iouloop-vm net eth0 10.0.3.2 rc=\$?"
fi
cd /tmp
for tl in $limits; do
  t=\${tl%%=*} lim=\${tl#*=}
  echo "@@iouloop-vm begin \$t limit=\$lim"
  start=\$(date +%s)
  timeout -s TERM -k 10 \$lim /bin/\$t $args
  rc=\$?
  if [ \$rc != 0 ] && [ \$(( \$(date +%s) - start )) -ge \$lim ]; then
    echo
    rc=timeout
  fi
  echo "@@iouloop-vm end \$t rc=\$rc"
done
echo "@@iouloop-vm done"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

console=${console:-$work/console.log}
nic=(-nic none)
[ -n "$tap" ] && nic=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device virtio-net-pci,netdev=n0)
# boot: one QEMU run; sets qrc and why_stopped ("" when QEMU exited by itself).
boot() {
  : >"$console"
  # thread=single: one host thread runs both vCPUs in turn. With a thread per
  # vCPU, QEMU 7.2 can keep a stale translation of kernel code that the other
  # vCPU is live-patching; boots died of an int3 left in sched_clock_cpu
  # (README.md, the paragraph on the VM harness).
  "$qemu" ${plugin:+-plugin "$(readlink -f "${plugin%%,*}")${plugin#"${plugin%%,*}"}"} ${qemu_args[@]+"${qemu_args[@]}"} \
    -accel "$accel" -nographic -no-reboot -m 1G -smp 2 -cpu max \
    -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 quiet${kernel_args:+ $kernel_args}" -serial "file:$console" -monitor none -display none "${nic[@]}" \
    </dev/null >"$work/qemu.out" 2>&1 &
  qpid=$!
  local t0=$SECONDS booted=0
  why_stopped=""
  while kill -0 "$qpid" 2>/dev/null; do
    sleep 1
    if [ $booted = 0 ] && grep -aq '@@iouloop-vm kernel' "$console"; then booted=1; fi
    if [ $booted = 0 ] && [ $((SECONDS - t0)) -ge "$boot_timeout" ]; then
      why_stopped="no /init after ${boot_timeout} s (boot time limit)"; kill "$qpid" 2>/dev/null || true
    elif [ $((SECONDS - t0)) -ge "$timeout_s" ]; then
      why_stopped="QEMU killed after ${timeout_s} s (the VM's time limit, --timeout)"; kill "$qpid" 2>/dev/null || true
    fi
  done
  set +e; wait "$qpid"; qrc=$?; set -e
  qpid=""
  # The firmware's screen-control escapes share a line with the first marker.
  tr -d '\r' <"$console" | sed 's/^.*@@iouloop-vm/@@iouloop-vm/' >"$work/console.txt"
}
# boot_failure: one line saying why a boot did not reach /init.
boot_failure() {
  local l rip strip='s/^ *\[[ 0-9.]*\] //'
  l=$(grep -a -m1 -E 'Kernel panic|BUG:|Oops|int3: |general protection|invalid opcode|RIP: ' "$work/console.txt" | sed "$strip" || true)
  rip=$(grep -a -m1 -E '^ *(\[[ 0-9.]*\] )?RIP: ' "$work/console.txt" | sed "$strip" || true)
  [ -n "$rip" ] && [ "$rip" != "$l" ] && l="$l; $rip"
  [ -n "$l" ] || l=$(grep -a -v '^[[:space:]]*$' "$work/console.txt" | tail -n1 | sed "$strip")
  [ -n "$l" ] || l=$(grep -a -v '^[[:space:]]*$' "$work/qemu.out" | tail -n1)
  echo "${why_stopped:-qemu exit $qrc}${l:+: $l}"
}

[ -n "$log" ] && : >"$log"
attempt=1
while :; do
  boot
  [ -n "$log" ] && { [ "$attempt" = 1 ] || echo "@@iouloop-vm-run attempt $attempt"; cat "$work/console.txt"; } >>"$log"
  grep -q '^@@iouloop-vm kernel' "$work/console.txt" && break
  if [ "$attempt" -ge "$attempts" ]; then
    echo "run.sh: the VM did not reach /init in $attempts attempts (last: $(boot_failure)); console and qemu output follow:" >&2
    tail -n 40 "$work/console.txt" "$work/qemu.out" >&2
    exit 1
  fi
  echo "run.sh: the VM died before any test started (attempt $attempt of $attempts): $(boot_failure); booting again" >&2
  grep -a -E -A30 'Kernel panic|BUG:|Oops|int3: ' "$work/console.txt" | head -n 40 | sed 's/^/run.sh:   | /' >&2 || true
  attempt=$((attempt + 1))
done

# "its last line" skips the shell's kill notes and Catch2's closing summary,
# so that it is the failed case's report or the program's own last words.
noise='^(Terminated|Killed|=+|-+|test cases: .*|assertions: .*|All tests passed.*)$'
# Print the programs' output without the markers; collect their exit codes.
awk '/^@@iouloop-vm kernel/ { print "vm: kernel " $3; next }
     /^@@iouloop-vm insmod/ { print "vm: insmod " $3 " " $4; next }
     /^@@iouloop-vm net/    { print "vm: net " $3 " " $4 " " $5; next }
     /^@@iouloop-vm begin/ { cur=$3; lim=substr($4, 7); last=""; next }
     /^@@iouloop-vm end/   {
       if ($4 == "rc=timeout")
         print "vm: " $3 " did not finish: killed after " lim " s (time limit)" (last != "" ? "; its last line: " last : "")
       else
         print "vm: " $3 " exited " substr($4, 4)
       cur=""; next }
     /^@@iouloop-vm done/  { next }
     cur != "" { print; if (NF && $0 !~ noise) last=$0 }' noise="$noise" "$work/console.txt"
# What stopped the VM, for a program that did not finish.
if [ -n "$why_stopped" ]; then stopped=$why_stopped
else
  stopped="the VM stopped (qemu exit $qrc)"
  panic=$(grep -a -m1 -E 'Kernel panic|BUG:|Oops' "$work/console.txt" | sed 's/^ *\[[ 0-9.]*\] //' || true)
  [ -n "$panic" ] && stopped="$stopped: $panic"
fi
status=0
if [ -n "$tap" ] && ! grep -q "^@@iouloop-vm net eth0 10.0.3.2 rc=0$" "$work/console.txt"; then
  echo "vm: the network card did not come up (--tap: pass failover.ko, net_failover.ko, virtio_net.ko with --module)"; status=1
fi
for m in $insmods; do
  grep -q "^@@iouloop-vm insmod $m rc=0$" "$work/console.txt" || { echo "vm: module $m did not load"; status=1; }
done
for n in $names; do
  rc=$(sed -n "s/^@@iouloop-vm end $n rc=\([0-9a-z]*\)$/\1/p" "$work/console.txt" | head -n1)
  if [ "$rc" = timeout ]; then
    status=1   # reported above
  elif [ -n "$rc" ]; then
    [ "$rc" = 0 ] || status=1
  elif grep -q "^@@iouloop-vm begin $n\( \|$\)" "$work/console.txt"; then
    last=$(awk -v n="$n" '/^@@iouloop-vm begin/ { cur=($3 == n); next }
                          /^@@iouloop-vm/ { cur=0; next }
                          cur && NF && $0 !~ noise { l=$0 } END { print l }' noise="$noise" "$work/console.txt")
    echo "vm: $n did not finish: $stopped while it was running${last:+; its last line: $last}"; status=1
  else
    echo "vm: $n did not run: $stopped before it started"; status=1
  fi
done
exit $status
