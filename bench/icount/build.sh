#!/usr/bin/env bash
# Builds what bench/icount.sh runs into OUT (default ${TMPDIR:-/tmp}/iouloop-icount/out):
#   insn_count.so   the QEMU 7.2 TCG plugin (insn_count.c); its header comes
#                   from Debian's qemu source (get-qemu-plugin-h.sh, cached)
#   iouperf         iouloop's engines and the hand-written liburing loops
#                   (//bench/icount:iouperf, static), selftest (the plugin's check)
#   loadgen, epoll_echo, liburing_echo, echo2
#                   with ICOUNT_NET=1 only (bench/icount.sh sets it when a
#                   net-* workload is selected): bench/net and examples/echo2,
#                   static
#   bpf_nops, bpf_cp_4k, bpf_cp_64k
#                   liburing's upstream BPF tests (test/bpf_nops.c, test/bpf_cp.c
#                   and test/bpf-progs/) from Debian's liburing source package
#                   as tools/setup.sh unpacked it, with the markers inserted at
#                   build time (liburing-markers.py), static
#
#   build.sh OUT [bazel flags...]
# Exit 77 with "SKIPPED: icount: <why>" when a prerequisite that
# tools/setup.sh provides is missing; 1 when a build step fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$1; shift
lu=${LIBURING_SRC:-$(find /var/cache/iouloop/liburing-build -maxdepth 1 -mindepth 1 -type d -name 'liburing-*' 2>/dev/null | head -n1)}
lu_lib=${LIBURING_LIB:-/opt/iouloop/liburing/lib/liburing.a}
clang=${CLANG:-clang-19}
mkdir -p "$out"
skip() { echo "SKIPPED: icount: $* (tools/setup.sh provides it)"; exit 77; }
pkg-config --exists glib-2.0 || skip "no glib-2.0 headers for the QEMU plugin (libglib2.0-dev)"
command -v bpftool >/dev/null || skip "no bpftool"
[ -n "$lu" ] && [ -f "$lu/test/bpf_nops.c" ] && [ -f "$lu_lib" ] ||
  skip "no liburing source under /var/cache/iouloop/liburing-build or no $lu_lib (LIBURING_SRC=DIR, LIBURING_LIB=FILE)"

echo "== plugin"
hdr=$("$here/get-qemu-plugin-h.sh") || skip "no qemu-plugin.h for the installed QEMU (bench/icount/get-qemu-plugin-h.sh)"
mkdir -p "$out/include"
cp "$hdr" "$out/include/qemu-plugin.h"
# shellcheck disable=SC2046
gcc -O2 -Wall -Wextra -shared -fPIC -I"$out/include" $(pkg-config --cflags glib-2.0) \
    -o "$out/insn_count.so" "$here/insn_count.c"

echo "== iouperf, selftest (Bazel)"
(cd "$top" && bazel build -c opt "$@" //bench/icount:iouperf //bench/icount:selftest)
bin=$(cd "$top" && bazel info -c opt "$@" bazel-bin 2>/dev/null)
install -m 755 "$bin/bench/icount/iouperf" "$bin/bench/icount/selftest" "$out/"
if [ "${ICOUNT_NET:-0}" = 1 ]; then
  echo "== bench/net: loadgen, epoll_echo, liburing_echo, examples/echo2 (Bazel, static)"
  (cd "$top" && bazel build -c opt "$@" //bench/net:loadgen_static //bench/net:epoll_echo_static \
    //bench/net:liburing_echo_static //examples/echo2:echo2_static)
  for p in bench/net/loadgen bench/net/epoll_echo bench/net/liburing_echo examples/echo2/echo2; do
    install -m 755 "$bin/${p}_static" "$out/$(basename "$p")"
  done
fi
(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo unknown) >"$out/iouloop-commit.txt"

echo "== liburing upstream BPF tests ($lu)"
bd=$out/liburing-tests
rm -rf "$bd" && mkdir -p "$bd"
"$here/liburing-markers.py" "$lu/test" "$bd"
sys_inc=$("$clang" -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
for p in nops cp; do
  # as liburing's test/Makefile does
  # shellcheck disable=SC2086
  "$clang" -g -O2 -target bpf -I"$lu/src/include/" $sys_inc -Wno-missing-declarations \
      -c "$lu/test/bpf-progs/$p.bpf.c" -o "$bd/$p.tmp.bpf.o" -mcpu=v4
  bpftool gen object "$bd/$p.bpf.o" "$bd/$p.tmp.bpf.o"
  bpftool gen skeleton "$bd/$p.bpf.o" >"$bd/$p.skel.h"
  # bpftool 7.5 writes map->link for struct_ops maps (skeleton auto-attach,
  # libbpf >= 1.5); bookworm-backports' libbpf-dev 1.4.6 lacks that member.
  # The tests attach with bpf_map__attach_struct_ops() themselves: drop it.
  if ! awk '/^struct bpf_map_skeleton \{/,/^\};/' /usr/include/bpf/libbpf.h | grep -q 'link;'; then
    sed -i '/^[[:space:]]*map->link = /d' "$bd/$p.skel.h"
  fi
done
cflags=(-O3 -g -Wall -D_GNU_SOURCE -D__SANE_USERSPACE_TYPES__ -I"$lu/src/include/" -include "$lu/config-host.h"
        -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 -DLIBURING_BUILD_TEST -Wno-unused-parameter -Wno-sign-compare
        -I"$bd" -I"$lu/test" -I"$here")
libs=("$lu_lib" -lbpf -lelf -lz -lzstd)
gcc -static "${cflags[@]}" -DNR_ITERS=20000 -o "$out/bpf_nops" "$bd/bpf_nops.c" "$lu/test/helpers.c" "$here/marker.c" "${libs[@]}"
gcc -static "${cflags[@]}" -DCP_BUFFER_SIZE=4096 -o "$out/bpf_cp_4k" "$bd/bpf_cp.c" "$lu/test/helpers.c" "$here/marker.c" "${libs[@]}"
gcc -static "${cflags[@]}" -DCP_BUFFER_SIZE=65536 -o "$out/bpf_cp_64k" "$bd/bpf_cp.c" "$lu/test/helpers.c" "$here/marker.c" "${libs[@]}"
# what the counts depend on besides iouloop (bench/icount/check.py)
echo "qemu=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') liburing=$(basename "$lu" | sed 's/^liburing-//')" >"$out/environment.txt"
echo "built: $(cd "$out" && ls insn_count.so selftest iouperf bpf_nops bpf_cp_4k bpf_cp_64k | tr '\n' ' ')"
