#!/usr/bin/env bash
# Reproduces the QEMU/TCG race behind the boot flake run.sh avoids (README,
# the paragraph on the VM harness): the guest turns two tracepoints on and off
# 600 times (each turn live-patches kernel code with the int3 protocol and
# sends IPIs to the other vCPU, which runs patched code while handling them).
#
#   tools/vm/patch-race.sh [ACCEL]
#
# ACCEL is QEMU's -accel value: "tcg,thread=single" (default, what run.sh
# uses) or "tcg" (a host thread per vCPU, QEMU's default). Prints
# "survived 600 toggles" and exits 0, or prints the guest's oops and exits 1
# (with bookworm's QEMU 7.2 and "tcg": "Oops: int3" in code whose bytes in
# memory are no longer an int3, within a minute). 77: cannot run here.
set -euo pipefail
accel=${1:-tcg,thread=single}
kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
kernel=${IOULOOP_VM_KERNEL:-$kdir/current/vmlinuz}
qemu=$(command -v qemu-system-x86_64 || true)
busybox=$(command -v busybox || true)
[ -n "$qemu" ] && [ -f "$kernel" ] && [ -n "$busybox" ] || { echo "SKIPPED: needs qemu-system-x86_64, busybox and $kernel"; exit 77; }
work=$(mktemp -d /tmp/iouloop-patch-race.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev"
cp "$busybox" "$work/root/bin/busybox"
cat >"$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs nodev /sys/kernel/tracing
ev=/sys/kernel/tracing/events/irq_vectors
i=0
while [ $i -lt 600 ]; do
  echo 1 > $ev/call_function_single_entry/enable
  echo 1 > $ev/call_function_single_exit/enable
  echo 0 > $ev/call_function_single_entry/enable
  echo 0 > $ev/call_function_single_exit/enable
  i=$((i+1))
done
echo "@@patch-race survived $i toggles"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"
timeout 600 "$qemu" -accel "$accel" -nographic -no-reboot -m 1G -smp 2 -cpu max \
  -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet" -serial "file:$work/console" -monitor none -display none -nic none \
  </dev/null >/dev/null 2>&1 || true
tr -d '\r' <"$work/console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' >"$work/console.txt"
if grep -aq '^@@patch-race survived' "$work/console.txt"; then
  echo "patch-race ($accel): $(sed -n 's/^@@patch-race //p' "$work/console.txt")"
  exit 0
fi
echo "patch-race ($accel): the guest died:"
sed -n '/Oops\|Kernel panic\|BUG:/,/Call Trace/p' "$work/console.txt" | head -n 20
[ -s "$work/console.txt" ] || echo "(no console output)"
exit 1
