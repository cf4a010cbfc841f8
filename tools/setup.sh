#!/usr/bin/env bash
# iouloop set-up for a fresh Debian bookworm machine, run as root. Idempotent:
# a second run only checks. After it, Bazel builds and tests with no network.
#
#   tools/setup.sh            install everything (packages, liburing, test kernel)
#   tools/setup.sh --no-kernel   skip fetching the VM test kernel
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
stamp_dir=/var/lib/iouloop-setup
want_kernel=1
[ "${1:-}" = "--no-kernel" ] && want_kernel=0

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages): sudo $0"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || log "warning: written for Debian bookworm, this is ${PRETTY_NAME:-unknown}"

export DEBIAN_FRONTEND=noninteractive
mkdir -p "$stamp_dir"

# 1. bookworm-backports, added the standard Debian way (one deb822 file).
bp=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$bp" ]; then
  log "adding bookworm-backports ($bp)"
  cat >"$bp" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  rm -f "$stamp_dir/apt-updated"
fi

# 2. packages. Backports gives libbpf 1.4.x (struct_ops.s/, .struct_ops.link),
#    bpftool 7.x and Catch2 v3; bookworm itself gives the rest.
base_pkgs=(bazel-bootstrap clang-19 llvm-19 lld-19 g++ make pkg-config
  libelf-dev zlib1g-dev libzstd-dev qemu-system-x86 busybox-static cpio gzip
  dpkg-dev ca-certificates xz-utils git clang-format-19 libglib2.0-dev python3 cmake)
bp_pkgs=(libbpf-dev bpftool catch2)
need=0
for p in "${base_pkgs[@]}" "${bp_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need=1
done
dpkg --compare-versions "$(dpkg-query -W -f='${Version}' catch2 2>/dev/null)" ge 3 || need=1
if [ $need = 1 ]; then
  log "apt-get update"
  apt-get update -qq
  log "installing ${base_pkgs[*]}"
  apt-get install -y -qq --no-install-recommends "${base_pkgs[@]}" >/dev/null
  log "installing from bookworm-backports: ${bp_pkgs[*]}"
  apt-get install -y -qq --no-install-recommends -t bookworm-backports "${bp_pkgs[@]}" >/dev/null
fi

# 3. a private apt configuration for newer suites (sid): used only to
#    download (liburing source, test kernel); the system's sources stay as
#    they are.
export IOULOOP_APT_DIR=/var/cache/iouloop/apt
"$top/tools/private-apt.sh" init

# 4. liburing >= 2.5 (NO_SQARRAY rings), built static from Debian sid's source
#    package into /opt/iouloop/liburing.
uring_prefix=/opt/iouloop/liburing
if [ ! -f "$uring_prefix/lib/liburing.a" ] || [ ! -f "$uring_prefix/include/liburing.h" ]; then
  work=/var/cache/iouloop/liburing-build
  rm -rf "$work"; mkdir -p "$work"
  log "fetching liburing source from sid"
  (cd "$work" && "$top/tools/private-apt.sh" source liburing)
  src=$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'liburing-*' | head -n1)
  [ -n "$src" ] || die "liburing source did not unpack in $work"
  log "building liburing in $src"
  (cd "$src" && ./configure --prefix="$uring_prefix" --cc=gcc >/dev/null &&
     make -s -C src -j"$(nproc)" ENABLE_SHARED=0 >/dev/null &&
     make -s -C src install ENABLE_SHARED=0 >/dev/null) || die "liburing build failed in $src"
  rm -f "$uring_prefix"/lib/liburing*.so*
fi
# bench/icount builds liburing's upstream BPF tests from this source: keep it
# (fetched again if a cleaned machine has the library but not the source).
if ! compgen -G "/var/cache/iouloop/liburing-build/liburing-*/test/bpf_nops.c" >/dev/null; then
  mkdir -p /var/cache/iouloop/liburing-build
  log "fetching liburing source from sid (for bench/icount)"
  (cd /var/cache/iouloop/liburing-build && "$top/tools/private-apt.sh" source liburing) ||
    log "warning: liburing source not fetched; bench/icount will say SKIPPED"
fi
grep -q IORING_SETUP_NO_SQARRAY "$uring_prefix/include/liburing/io_uring.h" ||
  die "liburing in $uring_prefix is too old for IORING_SETUP_NO_SQARRAY"

# 4b. buildifier (the format of BUILD and .bzl files, tools/style.sh): not in
#     Debian; the npm registry's @bazel/buildifier ships the binary itself.
buildifier_version=8.2.1
if ! buildifier --version 2>/dev/null | grep -q "$buildifier_version"; then
  command -v npm >/dev/null || { log "installing npm (for buildifier)"; apt-get install -y -qq --no-install-recommends npm >/dev/null; }
  log "installing buildifier $buildifier_version (npm @bazel/buildifier)"
  npm install -g --silent "@bazel/buildifier@$buildifier_version" >/dev/null || die "npm install @bazel/buildifier failed"
fi

# 5. the VM test kernel (a Debian kernel with CONFIG_IO_URING_BPF_OPS).
if [ $want_kernel = 1 ]; then
  "$top/tools/vm/fetch-kernel.sh" || log "warning: test kernel not fetched; the VM tests will say SKIPPED"
fi

# 5b. kernel modules for the test kernel (kernel/kmod/build.sh) build in the
#     sid root of the toolchain matrix, which tools/test.sh's stages 6 and 7
#     make when they first need it (kernel/kmod/setup-kbuild.sh).

# 6. bench/icount's QEMU plugin header: Debian ships none, so it comes from
#    the source package of the installed QEMU (bookworm), cached under
#    /var/cache/iouloop/qemu-plugin.
"$top/bench/icount/get-qemu-plugin-h.sh" >/dev/null ||
  log "warning: qemu-plugin.h not fetched; bench/icount (instruction counts) will say SKIPPED"

log "done"
