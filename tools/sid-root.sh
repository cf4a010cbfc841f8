#!/usr/bin/env bash
# The second toolchain of the test matrix: a Debian sid root (mmdebstrap) with
# Bazel 7 (bazel-bootstrap, bzlmod), gcc 16, clang 21, libbpf 1.7 and
# liburing-dev, used the way a user on that toolchain would build iouloop.
# Nothing is installed on the system itself but mmdebstrap (bookworm-backports).
# kernel/kmod builds modules for the test kernel in it too (gcc-16, make).
#
#   tools/sid-root.sh ensure          make the root unless it is there (cached,
#                                     ~2.5 min and ~1.8 GB the first time)
#   tools/sid-root.sh run DIR CMD...  run CMD in the root, in DIR (a folder of
#                                     the host, bind-mounted at the same path),
#                                     with /proc, /dev and /sys, in a private mount
#                                     namespace (nothing stays mounted)
#   tools/sid-root.sh path            print the root's folder
#
# $IOULOOP_SID_BINDS: more host folders (space-separated) that `run` binds at
# the same path (a results folder the command writes to, say).
# $IOULOOP_SID_ROOT overrides where the root lives (/var/cache/iouloop/sid-root).
# Bzlmod offline: Debian's /etc/bazel/bazelrc points rules_cc, platforms, skylib
# and friends at /usr/share/bazel with --override_module; what bazel_tools still
# asks a registry for is served as empty stub modules from /registry
# (--registry=file:///registry), written here.
set -euo pipefail
root=${IOULOOP_SID_ROOT:-/var/cache/iouloop/sid-root}
log() { printf 'sid-root: %s\n' "$*" >&2; }
pkgs=bazel-bootstrap,g++,gcc-16,make,clang,lld,cmake,llvm,libbpf-dev,liburing-dev,catch2,libelf-dev,zlib1g-dev,libzstd-dev,pkg-config,git,binutils,python3,ca-certificates
# What bazel_tools (Bazel 7.7.1) asks the registry for, module@version.
stubs="apple_support@1.23.1 buildozer@7.1.2 protobuf@3.19.6 protobuf@21.7 zlib@1.3.1.bcr.3"

write_registry() {
  local reg=$root/registry
  rm -rf "$reg"; mkdir -p "$reg/modules" "$reg/stubsrc"
  echo '{"module_base_path": "/registry/stubsrc"}' >"$reg/bazel_registry.json"
  for s in $stubs; do
    local name=${s%@*} ver=${s#*@}
    mkdir -p "$reg/modules/$name/$ver" "$reg/stubsrc/$name"
    echo "module(name = \"$name\", version = \"$ver\")" >"$reg/modules/$name/$ver/MODULE.bazel"
    echo "{\"type\": \"local_path\", \"path\": \"$name\"}" >"$reg/modules/$name/$ver/source.json"
    echo "module(name = \"$name\")" >"$reg/stubsrc/$name/MODULE.bazel"
    echo "# an empty stand-in: iouloop uses nothing from $name" >"$reg/stubsrc/$name/BUILD.bazel"
  done
}

ensure() {
  # One ensure at a time: two test runs side by side (or setup-kbuild.sh next
  # to a run) would otherwise both make $root.new. The second waits, then
  # finds the root ready. The lock goes when this process ends.
  mkdir -p "$(dirname "$root")"
  exec 8>"$root.lock"
  flock -w 1800 8 || { log "waited 30 min for $root.lock: another ensure is still making the root (look for mmdebstrap)"; return 1; }
  if [ -f "$root/.iouloop-ready" ] && [ "$(cat "$root/.iouloop-ready")" = "$pkgs $stubs" ]; then
    return 0
  fi
  # A root made for another package list: add what is missing in place.
  if [ -f "$root/.iouloop-ready" ] && [ -d "$root/usr/bin" ]; then
    log "adding packages to the sid root in $root"
    if run /tmp sh -c "apt-get update -qq -o Acquire::Check-Valid-Until=false && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(echo "$pkgs" | tr , ' ')" >"$root.log" 2>&1; then
      write_registry
      echo "$pkgs $stubs" >"$root/.iouloop-ready"
      return 0
    fi
    tail -n 20 "$root.log" >&2; log "could not add packages; making the root again"
  fi
  command -v mmdebstrap >/dev/null || {
    log "installing mmdebstrap (bookworm-backports)"
    apt-get install -y -qq --no-install-recommends -t bookworm-backports mmdebstrap >/dev/null ||
      apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  }
  log "making a Debian sid root in $root (mmdebstrap; a few minutes the first time)"
  rm -rf "$root.new"
  # The sid index may be a snapshot whose Release file has expired.
  mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' --include="$pkgs" \
    sid "$root.new" http://deb.debian.org/debian >"$root.log" 2>&1 || {
      tail -n 20 "$root.log" >&2; log "mmdebstrap failed (log: $root.log)"; rm -rf "$root.new"; return 1; }
  rm -rf "$root"; mv "$root.new" "$root"
  write_registry
  echo "$pkgs $stubs" >"$root/.iouloop-ready"
  log "ready: $(chroot "$root" bazel --version 2>/dev/null | head -n1), $(chroot "$root" gcc --version | head -n1), $(chroot "$root" clang --version | head -n1)"
}

run() {
  local dir=$1; shift
  case "$dir" in /*) ;; *) log "run: DIR must be an absolute path"; return 2 ;; esac
  [ "$dir" != / ] || { log "run: DIR cannot be / (it would hide the root)"; return 2; }
  [ -f "$root/.iouloop-ready" ] || { log "no sid root at $root: tools/sid-root.sh ensure"; return 2; }
  local binds="$dir ${IOULOOP_SID_BINDS:-}" b
  for b in $binds; do mkdir -p "$root$b"; done
  # A private mount namespace: the binds go when the command ends.
  unshare -m --propagation private sh -c '
    r=$1 d=$2 binds=$3; shift 3
    for b in $binds; do mount --bind "$b" "$r$b" || exit 1; done
    mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && mount --rbind /sys "$r/sys" &&
    exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      sh -c "cd \"\$0\" && exec \"\$@\"" "$d" "$@"' sh "$root" "$dir" "$binds" "$@"
}

case "${1:-}" in
  ensure) ensure ;;
  run) shift; run "$@" ;;
  path) echo "$root" ;;
  *) echo "usage: $0 ensure | run DIR CMD... | path" >&2; exit 2 ;;
esac
