#!/usr/bin/env bash
# Fetch a Debian kernel that has CONFIG_IO_URING_BPF_OPS, for the VM tests.
# The version is resolved from the meta package each time (the suite drops
# old versions), downloaded through the private apt configuration, unpacked
# under $IOULOOP_KERNEL_DIR/<version>/, and $IOULOOP_KERNEL_DIR/current points
# at it. Prints the path of vmlinuz.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
meta=${IOULOOP_KERNEL_META:-linux-image-cloud-amd64}
export IOULOOP_APT_DIR=${IOULOOP_APT_DIR:-/var/cache/iouloop/apt}
log() { printf 'fetch-kernel: %s\n' "$*" >&2; }

image=$("$top/tools/private-apt.sh" depends "$meta" |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
if [ -z "$image" ]; then
  if [ -f "$kdir/current/vmlinuz" ]; then
    log "cannot resolve $meta now; keeping the kernel fetched before ($(readlink "$kdir/current"))"
    echo "$kdir/current/vmlinuz"
    exit 0
  fi
  log "cannot resolve $meta to a kernel image package"; exit 1
fi
kver=${image#linux-image-}
dest=$kdir/$kver
if [ ! -f "$dest/vmlinuz" ] || [ ! -f "$dest/config" ]; then
  log "downloading kernel $kver (from $meta)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && "$top/tools/private-apt.sh" download "linux-binary-$kver" "linux-base-$kver" >&2)
  mkdir -p "$tmp/x"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
  mkdir -p "$dest"
  vmlinuz=$(find "$tmp/x" -name 'vmlinuz*' -type f | head -n1)
  config=$(find "$tmp/x" \( -path "*/modules/$kver/config" -o -name "config-$kver" \) -type f | head -n1)
  [ -n "$vmlinuz" ] || { log "no vmlinuz in linux-binary-$kver"; exit 1; }
  cp "$vmlinuz" "$dest/vmlinuz"
  if [ -n "$config" ]; then cp "$config" "$dest/config"; else : >"$dest/config"; fi
fi
if ! grep -q '^CONFIG_IO_URING_BPF_OPS=y' "$dest/config"; then
  log "warning: $kver config does not show CONFIG_IO_URING_BPF_OPS=y"
fi
ln -sfn "$kver" "$kdir/current"
echo "$dest/vmlinuz"
