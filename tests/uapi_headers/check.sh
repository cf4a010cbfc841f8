#!/usr/bin/env bash
# Compiles every public iouloop header next to <linux/io_uring.h> from one
# kernel's uapi headers, in both include orders, with each C++ compiler given.
# A fallback macro in iouloop that clashes with a header's enumerator (as
# IORING_REGISTER_MEM_REGION did with 7.x headers) fails here.
#
#   tests/uapi_headers/check.sh ROOT CXX...
#     ROOT: a folder with usr/include/linux/io_uring.h (an unpacked
#           linux-libc-dev), or / for the system's own headers.
# Prints one line per compiler and order; exits 1 if any failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
root=$1; shift
inc=$root/usr/include
[ -f "$inc/linux/io_uring.h" ] || { echo "uapi_headers: no $inc/linux/io_uring.h: unpack a linux-libc-dev there"; exit 2; }
ver=$(sed -n 's/^#define LINUX_VERSION_MAJOR //p;s/^#define LINUX_VERSION_PATCHLEVEL //p' "$inc/linux/version.h" | paste -sd.)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# bpf/program.hpp is for BPF translation units only (it #errors elsewhere).
# engine/liburing.hpp first: with an older system header it must come before
# <linux/io_uring.h>, and it says so (checked below) when it does not.
headers="iouloop/engine/liburing.hpp $(cd "$top/include" && find iouloop -name '*.hpp' ! -path 'iouloop/bpf/program.hpp' ! -path 'iouloop/engine/liburing.hpp' | sort)"
advice='include iouloop/engine/liburing.hpp (or <liburing.h>) before'
{ echo '#include <linux/io_uring.h>'; for h in $headers; do echo "#include \"$h\""; done; } >"$work/after.cc"
{ for h in $headers; do echo "#include \"$h\""; done; echo '#include <linux/io_uring.h>'; } >"$work/before.cc"
# Both orders also use the names a caller mixing the two would use.
for f in after before; do
  cat >>"$work/$f.cc" <<'CC'
static_assert(IORING_SETUP_NO_SQARRAY == iouloop::abi::setup::no_sqarray);
static_assert(IORING_SETUP_SQ_REWIND == iouloop::abi::setup::sq_rewind);
int main() { return 0; }
CC
done
# The system's own headers need no flag (and -isystem /usr/include would break
# libstdc++'s #include_next <stdlib.h>).
uflags=()
[ "$inc" -ef /usr/include ] || uflags=(-isystem "$inc" -isystem "$inc/x86_64-linux-gnu")
# liburing: the one tools/setup.sh builds, else the one next to the uapi headers.
[ -f /opt/iouloop/liburing/include/liburing.h ] && uflags+=(-I /opt/iouloop/liburing/include)
fail=0
for cxx in "$@"; do
  for f in after before; do
    # The unpacked tree comes first, for linux/ and asm/ (under the multiarch folder).
    if out=$("$cxx" -std=c++20 -fsyntax-only "${uflags[@]}" \
                 -I "$top/include" "$work/$f.cc" 2>&1); then
      echo "uapi_headers: PASS $ver $(basename "$cxx") io_uring.h $f iouloop"
    elif [ $f = after ] && grep -m1 'error' <<<"$out" | grep -q "$advice"; then
      # The first error is the advice: the header is older than liburing's copy, and the
      # refusal says what to do.
      echo "uapi_headers: PASS $ver $(basename "$cxx") io_uring.h $f iouloop (refused with advice: liburing.hpp must come first with this header)"
    else
      echo "uapi_headers: FAIL $ver $(basename "$cxx") io_uring.h $f iouloop:"; echo "$out" | head -20; fail=1
    fi
  done
done
exit $fail
