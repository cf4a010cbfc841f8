#!/usr/bin/env bash
# Boot the test kernel (a kernel with io_uring_bpf_ops) under QEMU/TCG with a
# small initramfs and run programs inside it; their output comes back on the
# serial console.
#
#   run.sh [--timeout SECS] [--args "ARGS"] [--env NAME=VALUE]... [--log FILE] PROGRAM...
#
# Each PROGRAM must be statically linked; it runs as /bin/<name> ARGS with
# IOULOOP_IN_VM=1, in order. The console shows
#   @@iouloop-vm begin <name>  ...its output...  @@iouloop-vm end <name> rc=<N>
# and this script prints each program's output with the markers stripped.
# Exit status: 0 when every program ran and exited 0; 1 when one failed or
# did not finish; 77 when the VM cannot run here (the reason is printed as
# "SKIPPED: ...").
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
timeout_s=600
args=""
log=""
envs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=$2; shift 2 ;;
    --args) args=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --env)
      [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_.,:/+-]*$ ]] || { echo "run.sh: --env wants NAME=VALUE (plain characters)" >&2; exit 2; }
      envs="$envs export $2;"; shift 2 ;;
    --) shift; break ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: run.sh [--timeout S] [--args A] [--log F] PROGRAM..." >&2; exit 2; }

skip() { echo "SKIPPED: VM tests: $*"; exit 77; }

kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
kernel=${IOULOOP_VM_KERNEL:-$kdir/current/vmlinuz}
qemu=$(command -v qemu-system-x86_64 || true)
busybox=$(command -v busybox || true)
[ -n "$qemu" ] || skip "qemu-system-x86_64 not installed (run tools/setup.sh)"
[ -f "$kernel" ] || skip "no test kernel at $kernel (run tools/vm/fetch-kernel.sh; it needs the Debian package registry)"
[ -n "$busybox" ] && file_is_static=$(ldd "$busybox" 2>&1 || true)
case "${file_is_static:-dynamic}" in *"not a dynamic"*|*"statically linked"*) ;; *) skip "busybox is missing or not static (install busybox-static)";; esac

work=$(mktemp -d /tmp/iouloop-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run}
cp "$busybox" "$root/bin/busybox"
for p in "$@"; do
  [ -x "$p" ] || { echo "run.sh: $p is not an executable" >&2; exit 2; }
  if ldd "$p" >/dev/null 2>&1; then echo "run.sh: $p is dynamically linked; build it with -static" >&2; exit 2; fi
  cp "$p" "$root/bin/$(basename "$p")"
done
names=$(for p in "$@"; do basename "$p"; done | tr '\n' ' ')
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
cd /tmp
for t in $names; do
  echo "@@iouloop-vm begin \$t"
  /bin/\$t $args
  echo "@@iouloop-vm end \$t rc=\$?"
done
echo "@@iouloop-vm done"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

console=$work/console.log
set +e
# thread=single: one host thread runs both vCPUs in turn. With a thread per
# vCPU, QEMU 7.2 can keep a stale translation of kernel code that the other
# vCPU is live-patching; boots died of an int3 left in sched_clock_cpu
# (README.md, the paragraph on the VM harness).
timeout --foreground "$timeout_s" "$qemu" -accel tcg,thread=single -nographic -no-reboot -m 1G -smp 2 -cpu max \
  -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet" -serial "file:$console" -monitor none -display none -nic none \
  </dev/null >"$work/qemu.out" 2>&1
qrc=$?
set -e
# The firmware's screen-control escapes share a line with the first marker.
tr -d '\r' <"$console" | sed 's/^.*@@iouloop-vm/@@iouloop-vm/' >"$console.txt"
[ -n "$log" ] && cp "$console.txt" "$log"
if ! grep -q '^@@iouloop-vm kernel' "$console.txt"; then
  echo "run.sh: the VM did not reach /init (qemu exit $qrc); console and qemu output follow:" >&2
  tail -n 40 "$console.txt" "$work/qemu.out" >&2
  exit 1
fi
# Print the programs' output without the markers; collect their exit codes.
awk '/^@@iouloop-vm kernel/ { print "vm: kernel " $3; next }
     /^@@iouloop-vm begin/ { cur=$3; next }
     /^@@iouloop-vm end/   { print "vm: " $3 " exited " substr($4, 4); cur=""; next }
     /^@@iouloop-vm done/  { next }
     cur != "" { print }' "$console.txt"
status=0
for n in $names; do
  rc=$(sed -n "s/^@@iouloop-vm end $n rc=\([0-9]*\)$/\1/p" "$console.txt" | head -n1)
  if [ -z "$rc" ]; then echo "vm: $n did not finish (timeout ${timeout_s}s or crash; qemu exit $qrc)"; status=1
  elif [ "$rc" != 0 ]; then status=1; fi
done
exit $status
