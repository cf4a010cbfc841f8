#!/usr/bin/env bash
# Build the kernels that the proposals in kernel/ were measured on: as Debian
# ships the source (base), with kernel/0002-*.patch (patched), with
# kernel/0003-*.patch (notify), with kernel/0004-*.patch (inline), with
# kernel/0005-*.patch (entry) and with kernel/0006-*.patch (checks), each
# patch alone, from one tree and one config, so that each differs from base
# only by its patch; one with 0004, 0005 and 0006 applied together
# (chain: the three that make a step cheaper); and one with 0004 to 0007
# (direct: 0007 needs 0005 under it).
#
#   kernel/test-kernel.sh [--out DIR] [--jobs N]
#
# Prints "base PATH", "patched PATH", "notify PATH", "inline PATH",
# "entry PATH", "checks PATH", "chain PATH" and "direct PATH" (the vmlinuz images)
# at the end; boot any with IOULOOP_VM_KERNEL=PATH in front of
# tools/vm/run.sh, bench/icount.sh or tools/test.sh (docs/cost.md and
# kernel/README.md have the measurements). After the first build, the
# others recompile what their patch touches and link: minutes, not the
# full build (0004 changes two headers: about three minutes).
#
# Source: linux-source-<series> from sid, through tools/private-apt.sh (the
# version of the VM suite's kernel, /var/cache/iouloop/kernel/current/source;
# the orig tarball in the pool is not always there, the binary package is).
# Config: that kernel's Debian config, with every module dropped (=m becomes
# "not set": there is no module to load in the test VM), Kconfig fragments
# kernel/iouloop.config and kernel/test-kernel.config (subsystems the VM and
# the benchmarks do not use, turned off to make a build take 16 to 28
# minutes on 2 cores), then `make olddefconfig`.
# Build tools: gcc, make, flex, bison, bc, pahole (dwarves), libelf-dev,
# libssl-dev from the host; the script says which are missing.
#
# Cached under $IOULOOP_KERNEL_BUILD (default /var/cache/iouloop/ksrc): the
# .deb, the unpacked tree, and the images with their config. A second run
# with the images present only prints them; delete DIR/<version>/NAME to
# rebuild one, DIR/<version> to rebuild all.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${IOULOOP_KERNEL_BUILD:-/var/cache/iouloop/ksrc}
jobs=$(($(nproc) + 1))
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;   # the header comment
    *) echo "test-kernel.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
log() { printf 'test-kernel: %s\n' "$*" >&2; }

missing=()
for t in gcc make flex bison bc pahole perl; do command -v "$t" >/dev/null || missing+=("$t"); done
[ -e /usr/include/libelf.h ] || missing+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
  log "missing build tools: ${missing[*]} (apt-get install flex bison bc dwarves libelf-dev libssl-dev)"
  exit 1
fi

kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
if [ ! -s "$kdir/current/config" ] || [ ! -s "$kdir/current/source" ]; then
  log "no VM kernel with a config in $kdir/current: run tools/vm/fetch-kernel.sh first"; exit 1
fi
read -r suite version <"$kdir/current/source"   # e.g. "sid 7.2.13-1"
series=$(printf '%s\n' "$version" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
[ -n "$out" ] || out=$cache/$version
# The proposals: names[i] is the image of patches[i] applied alone; a patch
# past the last name (0007, written on top of 0005) is only built stacked.
names=(patched notify inline entry checks)
patches=(0002-io_uring-loop-wait-again-when-the-wanted-CQEs-are-not-there.patch
  0003-io_uring-loop-clear-a-task-work-notification-with-no-work.patch
  0004-bpf-inline-bpf_io_uring_get_region-for-a-constant-region-id.patch
  0005-io_uring-loop-enter-the-BPF-context-once-per-loop.patch
  0006-io_uring-loop-one-fast-path-for-the-checks-between-steps.patch
  0007-bpf-x86-call-a-held-io_uring-loop_step-with-no-enter-or-exit.patch)
# The stacked images: each applies these in this order (indexes into
# patches). 0007 builds on 0005, so it is only built stacked.
stack_names=(chain direct)
stacks=("2 3 4" "2 3 4 5")
report() {
  echo "base $out/base/vmlinuz"
  for name in "${names[@]}" "${stack_names[@]}"; do echo "$name $out/$name/vmlinuz"; done
}
all_built=1
for name in base "${names[@]}" "${stack_names[@]}"; do [ -s "$out/$name/vmlinuz" ] || all_built=0; done
if [ "$all_built" = 1 ]; then report; exit 0; fi
mkdir -p "$cache" "$out"

deb=$cache/linux-source-${series}_${version}_all.deb
if [ ! -s "$deb" ]; then
  log "fetching linux-source-$series $version from $suite"
  dir=${IOULOOP_APT_DIR:-/var/cache/iouloop/apt}; [ "$suite" = sid ] || dir=$dir-$suite
  (cd "$cache" && IOULOOP_APT_DIR=$dir IOULOOP_APT_SUITE=$suite "$top/tools/private-apt.sh" download "linux-source-$series=$version")
fi
tree=$out/linux-source-$series
if [ ! -f "$tree/Makefile" ]; then
  log "unpacking $deb"
  rm -rf "$out/deb"; dpkg-deb -x "$deb" "$out/deb"
  tar -C "$out" -xf "$out/deb/usr/src/linux-source-$series.tar.xz"
  rm -rf "$out/deb"
fi
cd "$tree"

# One config for both builds.
sed -E 's/^(CONFIG_[A-Za-z0-9_]+)=m$/# \1 is not set/' "$kdir/current/config" >.config
scripts/config --disable MODULES --disable RUST --set-str SYSTEM_TRUSTED_KEYS "" \
  --set-str SYSTEM_REVOCATION_KEYS "" --set-str LOCALVERSION "-iouloop"
scripts/kconfig/merge_config.sh -m .config "$top/kernel/iouloop.config" "$top/kernel/test-kernel.config" >"$out/merge.log" 2>&1
make olddefconfig >>"$out/merge.log" 2>&1
for want in IO_URING_BPF_OPS DEBUG_INFO_BTF BPF_JIT SERIAL_8250_CONSOLE BLK_DEV_INITRD; do
  grep -q "^CONFIG_$want=y" .config || { log "CONFIG_$want did not stay on (see $out/merge.log)"; exit 1; }
done

build() {  # build NAME: make bzImage, copy it and the config to $out/NAME/
  local name=$1
  log "building the $name kernel (make -j$jobs bzImage; log in $out/$name.log)"
  local t0=$SECONDS
  if ! make -j"$jobs" bzImage >"$out/$name.log" 2>&1; then
    tail -n 30 "$out/$name.log" >&2; log "the $name kernel did not build"; exit 1
  fi
  mkdir -p "$out/$name"
  cp arch/x86/boot/bzImage "$out/$name/vmlinuz"; cp .config "$out/$name/config"
  log "$name: built in $((SECONDS - t0)) s"
}

applied() { patch -p1 -R --dry-run -s -f <"$1" >/dev/null 2>&1; }
# A tree left patched by a build that failed goes back first, the last
# patch first (the stack applies them in order).
for ((i = ${#patches[@]} - 1; i >= 0; i--)); do
  p=$top/kernel/${patches[$i]}
  if applied "$p"; then patch -p1 -R -s <"$p"; fi
done
[ -s "$out/base/vmlinuz" ] || build base
for i in "${!names[@]}"; do
  [ -s "$out/${names[$i]}/vmlinuz" ] && continue
  p=$top/kernel/${patches[$i]}
  patch -p1 -s <"$p"
  build "${names[$i]}"
  patch -p1 -R -s <"$p"
done
for k in "${!stack_names[@]}"; do
  [ -s "$out/${stack_names[$k]}/vmlinuz" ] && continue
  read -r -a stack <<<"${stacks[$k]}"
  for i in "${stack[@]}"; do patch -p1 -s <"$top/kernel/${patches[$i]}"; done
  build "${stack_names[$k]}"
  for ((j = ${#stack[@]} - 1; j >= 0; j--)); do patch -p1 -R -s <"$top/kernel/${patches[${stack[$j]}]}"; done
done
report
