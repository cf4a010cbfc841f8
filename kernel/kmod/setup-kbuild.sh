#!/usr/bin/env bash
# Make the root kernel/kmod/build.sh builds modules in (run by tools/test.sh's
# stage 6; idempotent, a second run only checks): the sid root of the
# toolchain matrix (tools/sid-root.sh: gcc-16, make, libelf), plus the test
# kernel's linux-headers-<kver>, linux-headers-<common> and linux-kbuild
# packages, downloaded through tools/private-apt.sh and unpacked into it (not
# installed: dpkg in the root does not know them).
#
# Debian built the test kernel with gcc-16 and its config carries gcc-16-only
# flags (-fmin-function-alignment), so bookworm's gcc-12 cannot build modules
# for it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kver=7.2.13+deb14-cloud-amd64
kabi=7.2.13+deb14
log() { printf 'setup-kbuild: %s\n' "$*" >&2; }
"$top/tools/sid-root.sh" ensure
root=$("$top/tools/sid-root.sh" path)
# The root's lock (tools/sid-root.sh ensure takes it too, and has let it go
# by now): two of these side by side unpack one after the other.
exec 8>"$root.lock"
flock -w 540 8 || { log "waited 9 min for $root.lock: another setup-kbuild.sh or sid-root.sh ensure still holds it"; exit 1; }
for t in gcc-16 make; do
  [ -x "$root/usr/bin/$t" ] || { log "the sid root at $root has no $t (tools/sid-root.sh's package list)"; exit 1; }
done
if [ -f "$root/usr/src/linux-headers-$kver/Makefile" ] && [ -x "$root/usr/lib/linux-kbuild-$kabi/scripts/mod/modpost" ]; then
  exit 0
fi
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
log "fetching linux-headers-$kver and linux-kbuild-$kabi from sid"
(cd "$dl" && IOULOOP_APT_DIR=/var/cache/iouloop/apt "$top/tools/private-apt.sh" download \
  "linux-headers-$kver" "linux-headers-$kabi-common" "linux-kbuild-$kabi")
for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$root"; done
[ -f "$root/usr/src/linux-headers-$kver/Makefile" ] || { log "linux-headers-$kver did not unpack"; exit 1; }
