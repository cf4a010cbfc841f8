#!/usr/bin/env bash
# Fetch Debian kernels for the VM tests, through the private apt
# configuration (tools/private-apt.sh; the system's apt sources are never
# touched). Versions are resolved from the archive each time (the suites drop
# old versions), never pinned. Each kernel is unpacked under
# $IOULOOP_KERNEL_DIR/<kver>/ (default /var/cache/iouloop/kernel): vmlinuz,
# config (when the archive still has linux-base-<kver>), and `feature`, one
# line saying whether the kernel has io_uring_bpf_ops and how that is known.
#
#   fetch-kernel.sh                the VM suite's kernel: the newest
#                                  linux-image-cloud-amd64 of sid (the meta
#                                  package; IOULOOP_APT_SUITE for another);
#                                  $IOULOOP_KERNEL_DIR/current points at it.
#                                  Prints the path of vmlinuz.
#   fetch-kernel.sh --series 7.N   the newest 7.N.x kernel (flavour cloud-amd64)
#                                  any of the suites ships; `current` is left
#                                  alone. Prints "KVER SUITE VERSION PATH".
#                                  The same for 6.12, Debian 13's own
#                                  kernel (in trixie, the older packaging).
#   fetch-kernel.sh --resolve 7.N  only resolve: prints "KVER SUITE VERSION".
#   fetch-kernel.sh --matrix 7.1 7.2 7.3
#                                  the series to test: those given, and every
#                                  later one (from 7.1, where io_uring_bpf_ops
#                                  came in) that a suite ships and --series
#                                  can resolve, so a new 7.N joins the kernel
#                                  matrix on the day Debian uploads it. Prints
#                                  them on one line, by version; says on
#                                  stderr what it added. Offline: the series
#                                  given. IOULOOP_KERNEL_FOUND="7.0 7.4 ..."
#                                  stands for the archive's series (no
#                                  network; tests/kernel_matrix_test.sh).
#   fetch-kernel.sh --net-modules  the network card's driver for the current
#                                  kernel (failover.ko, net_failover.ko,
#                                  virtio_net.ko, decompressed, from
#                                  linux-modules-<kver>) into <kver>/net/;
#                                  prints that directory. Only for run.sh
#                                  --hostfwd (bench/percore.sh --load host):
#                                  the tests do not need it.
#
# Suites searched by --series/--resolve: IOULOOP_KERNEL_SUITES (default "sid
# trixie-backports experimental trixie"); each has its own apt directory, sid
# $IOULOOP_APT_DIR (/var/cache/iouloop/apt), the others $IOULOOP_APT_DIR-SUITE.
# Between suites the Debian version decides (7.3.4-1~bpo13+1 is newer than
# 7.3~rc7-1~exp1). Without network, the newest kernel of the series already
# cached is used, and the script says so; with none cached it exits 1.
#
# Which suites hold what (checked 2026-12-01): sid has only the current
# kernel (linux-image-7.2.13+deb14-cloud-amd64, plus the meta packages
# linux-image-cloud-amd64 and linux-image-amd64); trixie-backports keeps
# several (linux-image-7.0.13+deb13-cloud-amd64 ... 7.3.4+deb13-cloud-amd64;
# its meta linux-image-cloud-amd64 is 7.3.4), but linux-base-<kver>, which
# holds the config, only for its 7.2 and 7.3 kernels; experimental names its
# kernel without the patch level (linux-image-7.3-cloud-amd64, Debian version
# 7.3~rc7-1~exp1). The image itself is in linux-binary-<kver>. Without a
# config, the feature is read from the kernel image: its BTF names the struct
# io_uring_bpf_ops when the kernel has it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
meta=${IOULOOP_KERNEL_META:-linux-image-cloud-amd64}
flavour=${IOULOOP_KERNEL_FLAVOUR:-cloud-amd64}
suites=${IOULOOP_KERNEL_SUITES:-sid trixie-backports experimental trixie}
apt_base=${IOULOOP_APT_DIR:-/var/cache/iouloop/apt}
log() { printf 'fetch-kernel: %s\n' "$*" >&2; }

# apt SUITE ARGS...: tools/private-apt.sh on SUITE's own apt directory.
apt() {
  local suite=$1 dir=$apt_base; shift
  [ "$suite" = sid ] || dir=$apt_base-$suite
  IOULOOP_APT_DIR=$dir IOULOOP_APT_SUITE=$suite "$top/tools/private-apt.sh" "$@"
}

# feature KVER DIR: one line, "yes (...)" or "no (...)": whether the kernel
# in DIR has io_uring_bpf_ops, from its config, else from its image's BTF.
feature() {
  local kver=$1 d=$2 off
  if [ -s "$d/config" ]; then
    if grep -q '^CONFIG_IO_URING_BPF_OPS=y' "$d/config"; then echo "yes (config: CONFIG_IO_URING_BPF_OPS=y)"
    else echo "no (config: CONFIG_IO_URING_BPF_OPS is not set)"; fi
    return
  fi
  # The image is a zstd (Debian's choice), xz or gzip stream after a stub:
  # decompress from the first magic that works and look for the BTF name.
  local magic
  for magic in '\x28\xb5\x2f\xfd:zstd -dcq' '\xfd7zXZ\x00:xz -dcq' '\x1f\x8b\x08:gzip -dcq'; do
    for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$d/vmlinuz" 2>/dev/null | head -n 3 | cut -d: -f1); do
      # The stream is followed by the rest of the image: the decompressor
      # complains about it (exit status ignored); what counts is an ELF file.
      # shellcheck disable=SC2086 # the command and its options
      tail -c +$((off + 1)) "$d/vmlinuz" | ${magic#*:} 2>/dev/null >"$d/vmlinux.tmp" || true
      if [ "$(head -c 4 "$d/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
        if LC_ALL=C grep -qaP '\x00io_uring_bpf_ops\x00' "$d/vmlinux.tmp"; then
          echo "yes (image BTF names io_uring_bpf_ops; no config in the archive)"
        else
          echo "no (image BTF lacks io_uring_bpf_ops; no config in the archive)"
        fi
        rm -f "$d/vmlinux.tmp"
        return
      fi
    done
  done
  rm -f "$d/vmlinux.tmp"
  echo "unknown (no config in the archive, and the image did not decompress)"
}

# unpack KVER SUITE VERSION: download linux-binary-KVER (and linux-base-KVER
# if SUITE still has it) into $kdir/KVER unless it is there already.
unpack() {
  local kver=$1 suite=$2 version=$3 dest=$kdir/$1
  if [ ! -f "$dest/vmlinuz" ]; then
    log "downloading kernel $kver ($suite $version)"
    local tmp pkgs
    tmp=$(mktemp -d)
    # Debian's 7.x packaging has the image in linux-binary-KVER; before it
    # (trixie's 6.12), in linux-image-KVER itself, with its config.
    pkgs="linux-binary-$kver"
    [ -n "$(apt "$suite" version "linux-binary-$kver")" ] || pkgs="linux-image-$kver"
    if [ -n "$(apt "$suite" version "linux-base-$kver")" ]; then pkgs="$pkgs linux-base-$kver"
    elif [ "$pkgs" = "linux-binary-$kver" ]; then log "$suite has no linux-base-$kver (the config): the feature is read from the image"; fi
    # shellcheck disable=SC2086
    if ! (cd "$tmp" && apt "$suite" download $pkgs >&2); then rm -rf "$tmp"; return 1; fi
    mkdir -p "$tmp/x"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
    local vmlinuz config
    vmlinuz=$(find "$tmp/x" -name 'vmlinuz*' -type f | head -n1)
    config=$(find "$tmp/x" \( -path "*/modules/$kver/config" -o -name "config-$kver" \) -type f | head -n1)
    [ -n "$vmlinuz" ] || { log "no vmlinuz in $pkgs"; rm -rf "$tmp"; return 1; }
    mkdir -p "$dest"
    if [ -n "$config" ]; then cp "$config" "$dest/config"; else : >"$dest/config"; fi
    cp "$vmlinuz" "$dest/vmlinuz.tmp" && mv -f "$dest/vmlinuz.tmp" "$dest/vmlinuz"   # vmlinuz last: it marks a complete entry
    rm -rf "$tmp"
    echo "$suite $version" >"$dest/source"
    feature "$kver" "$dest" >"$dest/feature"
  fi
  [ -f "$dest/source" ] || echo "$suite $version" >"$dest/source"
  [ -f "$dest/feature" ] || feature "$kver" "$dest" >"$dest/feature"
  return 0
}

# resolve SERIES: "KVER SUITE VERSION" of the newest SERIES.x kernel of the
# flavour in any suite, or nothing.
resolve() {
  local series=$1 re best_v="" best="" suite names err
  err=$(mktemp)
  re="^linux-image-${series//./\\.}(\\.[0-9]+)?(\\+[a-z0-9]+)?-$flavour\$"
  for suite in $suites; do
    if ! apt "$suite" init 2>"$err"; then
      log "suite $suite: no package lists ($(tail -n1 "$err"))"; continue
    fi
    names=$(apt "$suite" list "linux-image-$series" 2>/dev/null | grep -E "$re" || true)
    [ -n "$names" ] || continue
    # The image package and the binary package with it must both be there
    # (7.x); an image without one (6.12) holds the image itself.
    # shellcheck disable=SC2086
    while read -r pkg v; do
      local kver=${pkg#linux-image-}
      [ -n "$(apt "$suite" version "linux-binary-$kver" 2>/dev/null)" ] || [ "${kver%%.*}" -lt 7 ] || continue
      if [ -z "$best_v" ] || dpkg --compare-versions "$v" gt "$best_v"; then best_v=$v best="$kver $suite $v"; fi
    done < <(apt "$suite" version $names 2>/dev/null)
  done
  rm -f "$err"
  echo "$best"
}

# series_found: every series M.N of the flavour that a suite lists (any
# patch level), by version, on one line; status 1 when no suite could be read.
series_found() {
  local suite err read_any=0 names=""
  err=$(mktemp)
  for suite in $suites; do
    if ! apt "$suite" init 2>"$err"; then
      log "suite $suite: no package lists ($(tail -n1 "$err"))"; continue
    fi
    read_any=1
    names="$names $(apt "$suite" list linux-image- 2>/dev/null |
      sed -nE "s/^linux-image-([0-9]+\.[0-9]+)(\.[0-9]+)?(\+[a-z0-9]+)?-${flavour}\$/\1/p")"
  done
  rm -f "$err"
  [ "$read_any" = 1 ] || return 1
  # shellcheck disable=SC2086 # one series per word
  printf '%s\n' $names | sort -uV | tr '\n' ' ' | sed 's/ $//'
}

# is_series WORD: whether WORD names a series, such as 7.1 or 6.12.
is_series() { [[ "$1" =~ ^[0-9]+\.[0-9]+$ ]]; }

# has_feature_series SERIES: whether SERIES is 7.1 or later, the kernels
# whose io_uring may have io_uring_bpf_ops.
has_feature_series() {
  local major=${1%%.*} minor=${1#*.}
  [ "$major" -gt 7 ] || { [ "$major" -eq 7 ] && [ "$minor" -ge 1 ]; }
}

# cached SERIES: "KVER SUITE VERSION" of the newest kernel of SERIES fetched before.
cached() {
  local series=$1 k
  k=$(find "$kdir" -mindepth 2 -maxdepth 2 -name vmlinuz -path "$kdir/${series}[.+-]*" -printf '%h\n' 2>/dev/null |
      xargs -r -n1 basename | grep -E -- "-$flavour\$" | sort -V | tail -n1)
  [ -n "$k" ] || return 0
  echo "$k $(cat "$kdir/$k/source" 2>/dev/null || echo "cache unknown")"
}

mkdir -p "$kdir"
# One fetch at a time: two test runs side by side share $kdir, and an entry is
# written in place (vmlinuz last). The second waits, then finds the entry.
# (test.sh gives this script 10 minutes: the wait says so before that.)
exec 8>"$kdir/.lock"
flock -w 540 8 || { log "waited 9 min for $kdir/.lock: another fetch-kernel.sh still holds it"; exit 1; }
case "${1:-}" in
  --series | --resolve)
    mode=$1 series=${2:-}
    is_series "$series" || { log "$mode wants a series such as 7.1"; exit 2; }
    r=$(resolve "$series")
    if [ -z "$r" ]; then
      r=$(cached "$series")
      [ -n "$r" ] || { log "no $series kernel ($flavour) in: $suites, and none cached in $kdir"; exit 1; }
      log "cannot resolve $series from the archive now (offline?); using the one fetched before: ${r%% *}"
    fi
    read -r kver suite version <<<"$r"
    if [ "$mode" = --resolve ]; then echo "$kver $suite $version"; exit 0; fi
    unpack "$kver" "$suite" "$version" || {
      r=$(cached "$series")
      [ -n "$r" ] || { log "downloading $kver failed and no $series kernel is cached"; exit 1; }
      log "downloading $kver failed; using the one fetched before: ${r%% *}"
      read -r kver suite version <<<"$r"
    }
    echo "$kver $suite $version $kdir/$kver/vmlinuz"
    exit 0 ;;
  --matrix)
    shift
    [ $# -gt 0 ] || { log "--matrix wants the series always tested, such as: --matrix 7.1 7.2 7.3"; exit 2; }
    for series in "$@"; do
      is_series "$series" || { log "--matrix: '$series' is not a series such as 7.1"; exit 2; }
    done
    if [ -n "${IOULOOP_KERNEL_FOUND+set}" ]; then
      found=$IOULOOP_KERNEL_FOUND
      log "the archive's series, from IOULOOP_KERNEL_FOUND: ${found:-none}"
    elif ! found=$(series_found); then
      log "no suite's package lists could be read (offline?): the matrix is the series given, $*"
      echo "$*"; exit 0
    fi
    added=""
    for series in $found; do
      if ! is_series "$series"; then log "'$series' is not a series such as 7.1: ignored"; continue; fi
      has_feature_series "$series" || continue
      case " $* " in *" $series "*) continue ;; esac
      # A series the archive lists but --series could not resolve (no
      # linux-binary-<kver> beside the image) would only fail later: say so
      # here and leave it out.
      if [ -z "${IOULOOP_KERNEL_FOUND+set}" ] && [ -z "$(resolve "$series")" ]; then
        log "$series: the archive lists linux-image-$series*-$flavour, but no kernel of it resolves (no linux-binary-<kver>?): left out of the matrix"
        continue
      fi
      added="$added $series"
    done
    if [ -n "$added" ]; then log "series the archive ships beyond the list ($*), added:$added"
    else log "the archive ships no series beyond the list ($*)"; fi
    # shellcheck disable=SC2086 # one series per word
    printf '%s\n' "$@" $added | sort -uV | tr '\n' ' ' | sed 's/ $//'
    echo
    exit 0 ;;
  --net-modules)
    kver=$(readlink "$kdir/current" 2>/dev/null || true)
    [ -n "$kver" ] && [ -f "$kdir/$kver/vmlinuz" ] || { log "no current kernel in $kdir: run fetch-kernel.sh first"; exit 1; }
    dest=$kdir/$kver/net
    if [ ! -f "$dest/virtio_net.ko" ]; then
      read -r suite _ <"$kdir/$kver/source"
      log "downloading linux-modules-$kver ($suite) for the network card's driver"
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      (cd "$tmp" && apt "$suite" download "linux-modules-$kver" >&2) ||
        { log "cannot download linux-modules-$kver from $suite (has the suite moved on to a newer kernel? run fetch-kernel.sh)"; exit 1; }
      mkdir -p "$tmp/x" "$tmp/net"
      dpkg-deb -x "$tmp"/linux-modules-*.deb "$tmp/x"
      for m in failover net_failover virtio_net; do
        f=$(find "$tmp/x" -name "$m.ko*" -type f | head -n1)
        case "$f" in
          *.ko.xz) xz -dc "$f" ;;
          *.ko.zst) zstd -dcq "$f" ;;
          *.ko.gz) gzip -dc "$f" ;;
          *.ko) cat "$f" ;;
          *) log "linux-modules-$kver has no $m.ko"; exit 1 ;;
        esac >"$tmp/net/$m.ko"
      done
      rm -rf "$dest" && mv "$tmp/net" "$dest"
    fi
    echo "$dest"
    exit 0 ;;
  "") ;;
  *) log "usage: fetch-kernel.sh [--series 7.N | --resolve 7.N | --matrix 7.N... | --net-modules]"; exit 2 ;;
esac

# The VM suite's kernel: sid's meta package (IOULOOP_APT_SUITE picks another suite).
suite=${IOULOOP_APT_SUITE:-sid}
image=$(apt "$suite" depends "$meta" |
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
version=$(apt "$suite" version "$image" | cut -d' ' -f2)
unpack "$kver" "$suite" "${version:-unknown}"
case "$(cat "$kdir/$kver/feature")" in
  yes*) ;;
  *) log "warning: $kver: io_uring_bpf_ops $(cat "$kdir/$kver/feature")" ;;
esac
ln -sfn "$kver" "$kdir/current"
echo "$kdir/$kver/vmlinuz"
