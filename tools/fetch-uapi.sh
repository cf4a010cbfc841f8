#!/usr/bin/env bash
# Fetch the kernel's uapi headers (linux-libc-dev) from several Debian suites,
# for tests/uapi_headers/check.sh: iouloop must compile next to any
# <linux/io_uring.h> from 6.1 (bookworm) to the newest (experimental). Each is
# downloaded through a private apt configuration (tools/private-apt.sh; the
# system's sources are not touched), unpacked, not installed, under
# $IOULOOP_UAPI_DIR/<suite>/ (usr/include/...). Prints one folder per line.
# A suite that cannot be reached keeps what was fetched before, or is left out
# with a message on stderr.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
udir=${IOULOOP_UAPI_DIR:-/var/cache/iouloop/uapi}
suites=${IOULOOP_UAPI_SUITES:-bookworm sid experimental}
# One writer at a time: two test runs side by side share $udir, and each
# replaces a suite's folder by a rename.
mkdir -p "$udir"
exec 8>"$udir/.lock"
flock -w 900 8 || { echo "fetch-uapi: waited 15 min for $udir/.lock: another fetch-uapi.sh still holds it" >&2; exit 1; }
for suite in $suites; do
  dest=$udir/$suite
  tmp=$(mktemp -d)
  if (cd "$tmp" && IOULOOP_APT_SUITE=$suite IOULOOP_APT_DIR=/var/cache/iouloop/apt-uapi-$suite \
        "$top/tools/private-apt.sh" download linux-libc-dev >&2) && compgen -G "$tmp/*.deb" >/dev/null; then
    deb=$(ls "$tmp"/*.deb | head -n1)
    ver=$(dpkg-deb -f "$deb" Version)
    if [ "$(cat "$dest/.version" 2>/dev/null)" != "$ver" ]; then
      rm -rf "$dest.new"; mkdir -p "$dest.new"   # (a run killed half-way leaves one)
      dpkg-deb -x "$deb" "$dest.new"
      echo "$ver" >"$dest.new/.version"
      rm -rf "$dest"; mv "$dest.new" "$dest"
      echo "fetch-uapi: $suite: linux-libc-dev $ver" >&2
    fi
  elif [ -f "$dest/.version" ]; then
    echo "fetch-uapi: $suite: cannot download now; keeping linux-libc-dev $(cat "$dest/.version")" >&2
  else
    echo "fetch-uapi: $suite: cannot download linux-libc-dev (offline?); left out" >&2
    rm -rf "$tmp"; continue
  fi
  rm -rf "$tmp"
  echo "$dest"
done
