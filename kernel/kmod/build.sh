#!/usr/bin/env bash
# Build kernel/kmod/iouloop_kmod.ko for the VM test kernel
# (7.2.13+deb14-cloud-amd64) into OUT (default: kernel/kmod/out/); prints its
# path. The VM test program is a Bazel target: //kernel/kmod:kmod_nop_test_static.
#
#   kernel/kmod/build.sh [--root DIR] [--list HEADER] [OUT_DIR]
#
# --list: the list of policies to compile in (a header that defines
# IOULOOP_NATIVE_POLICIES, as kernel/kmod/native_policies.hpp does, the
# default), as a path under --root: the tree its "..." includes are found in
# (default: this iouloop tree; a consumer workspace passes its own). Those
# headers are copied along, at the same paths. The Bazel macro
# iouloop_kernel_module (kernel/kmod/defs.bzl) calls this.
#
# Debian built that kernel with gcc-16, and its config carries gcc-16-only
# flags (-fmin-function-alignment), so bookworm's gcc-12 cannot build modules
# for it. The build runs in the sid root of the toolchain matrix (gcc-16,
# make), which holds the kernel's linux-headers and linux-kbuild packages at
# their own paths; kernel/kmod/setup-kbuild.sh puts them there
# ($IOULOOP_KBUILD_ROOT overrides the root). Needs root (chroot, and a private
# mount namespace for the chroot's /proc, which objtool reads).
# Module BTF is off (the chroot has no pahole; the module needs no BTF).
#
# Exit status: 0 built; 77 when the chroot or root is missing ("SKIPPED: ...").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
list=kernel/kmod/native_policies.hpp
tree=$top
if [ "${1:-}" = --root ]; then tree=$(cd "$2" && pwd); shift 2; fi
if [ "${1:-}" = --list ]; then list=$2; shift 2; fi
[ -f "$tree/$list" ] || { echo "build.sh: --list $list: no such file under $tree (give its path in the tree, and --root for another tree)" >&2; exit 2; }
out=${1:-$here/out}
kver=7.2.13+deb14-cloud-amd64
root=${IOULOOP_KBUILD_ROOT:-$("$here/../../tools/sid-root.sh" path)}
skip() { echo "SKIPPED: kernel module build: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (chroot)"
[ -x "$root/usr/bin/gcc-16" ] && [ -f "$root/usr/src/linux-headers-$kver/Makefile" ] ||
  skip "no kbuild root with linux-headers-$kver at $root (run kernel/kmod/setup-kbuild.sh)"
mkdir -p "$out"
# A fresh build folder inside the chroot per run: two builds do not collide.
b=$(mktemp -d "$root/tmp/iouloop-kmod.XXXXXX")
trap 'rm -rf "$b"' EXIT
cp "$here"/Kbuild "$here"/kmod_main.c "$here"/policies.cc "$b/"
mkdir -p "$b/include" && cp -r "$top/include/iouloop" "$b/include/"
# The list and the headers it includes with "..." (and theirs, in turn), at
# their paths in the tree: the files fingerprint.sh hashes, found by its own
# walk; <iouloop/...> comes from include/.
headers=$("$here/fingerprint.sh" --headers "$tree" "$list")
for h in $headers; do mkdir -p "$b/$(dirname "$h")" && cp "$tree/$h" "$b/$h"; done
# The list includes LIST.fingerprint.h: made here from the tree, as the
# iouloop_native_policy_list rule makes it for the host programs.
"$here/fingerprint.sh" "$tree" "$list" >"$b/${list%.hpp}.fingerprint.h"
unshare -m sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" make -s -j2 \
  -C /usr/src/linux-headers-'"$kver"' M="$2" IOULOOP_NATIVE_LIST="$3" CONFIG_DEBUG_INFO_BTF_MODULES= modules' \
  sh "$root" "${b#"$root"}" "$list" 2>&1 | grep -v -e '^warning: pahole version differs' -e 'The kernel was built with' -e 'You are using:' >&2 || true
[ -f "$b/iouloop_kmod.ko" ] || { echo "build.sh: the module did not build" >&2; exit 1; }
cp "$b/iouloop_kmod.ko" "$out/"
echo "$out/iouloop_kmod.ko"
