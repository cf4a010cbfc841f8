#!/usr/bin/env bash
# Build kernel/kmod/iouloop_kmod.ko for the VM test kernel
# (7.2.13+deb14-cloud-amd64) into OUT (default: kernel/kmod/out/); prints its
# path. The VM test program is a Bazel target: //kernel/kmod:kmod_nop_test_static.
#
#   kernel/kmod/build.sh [OUT_DIR]
#
# Debian built that kernel with gcc-16, and its config carries gcc-16-only
# flags (-fmin-function-alignment), so bookworm's gcc-12 cannot build modules
# for it. The build runs in a Debian sid chroot (gcc-16, make) that holds the
# kernel's linux-headers and linux-kbuild packages at their own paths; tools/setup.sh
# makes it (mmdebstrap, cached in $IOULOOP_KBUILD_ROOT). Needs root (chroot,
# and a private mount namespace for the chroot's /proc, which objtool reads).
# Module BTF is off (the chroot has no pahole; the module needs no BTF).
#
# Exit status: 0 built; 77 when the chroot or root is missing ("SKIPPED: ...").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/out}
kver=7.2.13+deb14-cloud-amd64
root=${IOULOOP_KBUILD_ROOT:-/var/cache/iouloop/sid-kbuild}
skip() { echo "SKIPPED: kernel module build: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (chroot)"
[ -x "$root/usr/bin/gcc-16" ] && [ -f "$root/usr/src/linux-headers-$kver/Makefile" ] ||
  skip "no kbuild chroot with linux-headers-$kver at $root (run tools/setup.sh)"
mkdir -p "$out"
# A fresh build folder inside the chroot per run: two builds do not collide.
b=$(mktemp -d "$root/tmp/iouloop-kmod.XXXXXX")
trap 'rm -rf "$b"' EXIT
cp "$here"/Kbuild "$here"/*.c "$here"/*.cc "$here/../../examples/nop/nop_policy.hpp" "$b/"
mkdir -p "$b/include" && cp -r "$here/../../include/iouloop" "$b/include/"
unshare -m sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" make -s -j2 \
  -C /usr/src/linux-headers-'"$kver"' M="$2" CONFIG_DEBUG_INFO_BTF_MODULES= modules' \
  sh "$root" "${b#"$root"}" 2>&1 | grep -v -e '^warning: pahole version differs' -e 'The kernel was built with' -e 'You are using:' >&2 || true
[ -f "$b/iouloop_kmod.ko" ] || { echo "build.sh: the module did not build" >&2; exit 1; }
cp "$b/iouloop_kmod.ko" "$out/"
echo "$out/iouloop_kmod.ko"
