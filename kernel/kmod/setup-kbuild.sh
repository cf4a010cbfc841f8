#!/usr/bin/env bash
# Make the chroot kernel/kmod/build.sh builds modules in (run by
# tools/setup.sh; idempotent): Debian sid with gcc-16 and make (mmdebstrap,
# from bookworm-backports or bookworm), plus the test kernel's
# linux-headers-<kver>, linux-headers-<common> and linux-kbuild packages
# (downloaded through tools/private-apt.sh, unpacked, not installed).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kver=7.2.13+deb14-cloud-amd64
kabi=7.2.13+deb14
root=${IOULOOP_KBUILD_ROOT:-/var/cache/iouloop/sid-kbuild}
log() { printf 'setup-kbuild: %s\n' "$*" >&2; }
if [ -x "$root/usr/bin/gcc-16" ] && [ -f "$root/usr/src/linux-headers-$kver/Makefile" ] &&
   [ -x "$root/usr/lib/linux-kbuild-$kabi/scripts/mod/modpost" ]; then
  exit 0
fi
command -v mmdebstrap >/dev/null || {
  log "installing mmdebstrap"
  apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}
if [ ! -x "$root/usr/bin/gcc-16" ]; then
  rm -rf "$root.new"
  log "making a Debian sid chroot with gcc-16 in $root (mmdebstrap)"
  # The mirror's Release file may be past its Valid-Until on a machine whose
  # clock is ahead; the packages are still checked against the archive key.
  mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include=gcc-16,g++-16,make,libc6-dev,libelf-dev,binutils,kmod \
    sid "$root.new" http://deb.debian.org/debian >&2
  rm -rf "$root"; mv "$root.new" "$root"
fi
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
log "fetching linux-headers-$kver and linux-kbuild-$kabi from sid"
(cd "$dl" && IOULOOP_APT_DIR=/var/cache/iouloop/apt "$top/tools/private-apt.sh" download \
  "linux-headers-$kver" "linux-headers-$kabi-common" "linux-kbuild-$kabi")
for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$root"; done
[ -f "$root/usr/src/linux-headers-$kver/Makefile" ] || { log "linux-headers-$kver did not unpack"; exit 1; }
