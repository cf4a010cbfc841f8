#!/usr/bin/env bash
# Fetches qemu-plugin.h for the installed QEMU from Debian's own source
# package of that QEMU (bookworm's qemu, the exact version installed), through
# the project's private apt configuration (tools/private-apt.sh, suite
# bookworm, under /var/cache/iouloop/apt-bookworm): Debian ships no plugin
# header, and its patches do not touch it. The header is cached as
#   $IOULOOP_QEMU_PLUGIN_H_DIR/qemu-plugin-<version>.h   (default /var/cache/iouloop/qemu-plugin)
# and its path printed. Nothing is fetched when it is there already.
# Run by tools/setup.sh (as root); bench/icount/build.sh uses the cache.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${IOULOOP_QEMU_PLUGIN_H_DIR:-/var/cache/iouloop/qemu-plugin}
ver=$(dpkg-query -W -f '${source:Version}' qemu-system-x86 2>/dev/null || true)
[ -n "$ver" ] || { echo "get-qemu-plugin-h: qemu-system-x86 is not installed (tools/setup.sh installs it)" >&2; exit 1; }
h=$dir/qemu-plugin-${ver//[:+~]/_}.h
if [ -s "$h" ]; then echo "$h"; exit 0; fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fetch() {
  (cd "$tmp" && IOULOOP_APT_DIR=${IOULOOP_APT_BOOKWORM_DIR:-/var/cache/iouloop/apt-bookworm} IOULOOP_APT_SUITE=bookworm \
     "$top/tools/private-apt.sh" fetch-source "$1" >&2)
}
# The header belongs to the upstream release (7.2): when this exact Debian
# revision has left the suite (a point release replaced it), any revision of
# the same upstream version has the same header.
upstream=${ver#*:}
upstream=${upstream%-*}
fetch "qemu=$ver" || { echo "get-qemu-plugin-h: qemu $ver is not in bookworm any more; trying its current qemu" >&2; fetch qemu; } ||
  { echo "get-qemu-plugin-h: could not download Debian's qemu $ver source (the Debian package registry is needed once)" >&2; exit 1; }
orig=$(ls "$tmp"/qemu_"$upstream".orig.tar.* 2>/dev/null | head -n1)
[ -n "$orig" ] || { echo "get-qemu-plugin-h: bookworm's qemu source is not upstream $upstream ($(ls "$tmp"))" >&2; exit 1; }
member=$(tar tf "$orig" | grep '/include/qemu/qemu-plugin.h$' | head -n1)
[ -n "$member" ] || { echo "get-qemu-plugin-h: no include/qemu/qemu-plugin.h in $orig" >&2; exit 1; }
tar xf "$orig" -C "$tmp" "$member"
grep -q 'define QEMU_PLUGIN_VERSION' "$tmp/$member" || { echo "get-qemu-plugin-h: $member is not the plugin header" >&2; exit 1; }
mv "$tmp/$member" "$h"   # $tmp is in $dir: a rename, so a run beside this one sees the whole file or none
echo "get-qemu-plugin-h: $(grep -m1 'define QEMU_PLUGIN_VERSION' "$h") from qemu $ver ($member)" >&2
echo "$h"
