#!/usr/bin/env bash
# A private apt configuration for Debian sid, used only to download packages
# (never to install them): its own sources list, state and cache under
# $IOULOOP_APT_DIR. The system's apt sources are not touched.
#
#   private-apt.sh init                 write the configuration, update its lists
#   private-apt.sh source PKG           unpack PKG's source in the current folder
#   private-apt.sh fetch-source PKG     download PKG's source files only (no unpack)
#   private-apt.sh download PKG...      download .debs into the current folder
#   private-apt.sh depends PKG          print PKG's direct dependencies
set -euo pipefail
dir=${IOULOOP_APT_DIR:-/var/cache/iouloop/apt}
suite=${IOULOOP_APT_SUITE:-sid}
conf=$dir/apt.conf

apt_opts() {
  printf -- '-c %s\n' "$conf"
}

init() {
  mkdir -p "$dir"/etc/apt.conf.d "$dir"/etc/preferences.d "$dir"/etc/sources.list.d \
           "$dir"/state/lists/partial "$dir"/cache/archives/partial
  touch "$dir/state/status"
  cat >"$dir/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SRC
  cat >"$conf" <<CONF
Dir::Etc "$dir/etc";
Dir::Etc::sourcelist "$dir/etc/sources.list";
Dir::Etc::sourceparts "$dir/etc/sources.list.d";
Dir::Etc::parts "$dir/etc/apt.conf.d";
Dir::Etc::preferencesparts "$dir/etc/preferences.d";
Dir::State "$dir/state";
Dir::State::status "$dir/state/status";
Dir::Cache "$dir/cache";
APT::Architecture "amd64";
APT::Get::AllowUnauthenticated "false";
Acquire::Languages "none";
// downloads land in folders owned by root; the _apt user cannot write there
APT::Sandbox::User "root";
CONF
  # Refresh the lists at most once a day: the suite moves, a stale list points
  # at files that are gone.
  local stamp=$dir/state/updated
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
    if apt-get -c "$conf" update -qq >&2; then
      touch "$stamp"
    elif compgen -G "$dir/state/lists/*Packages*" >/dev/null; then
      echo "private-apt: update failed (offline?); using the lists from $(date -r "$dir/state/lists" +%F)" >&2
    else
      echo "private-apt: update failed and no lists are cached: the Debian package registry is needed once" >&2
      exit 1
    fi
  fi
}

case "${1:-}" in
  init) init ;;
  source) init; shift; apt-get -c "$conf" source -qq --only-source "$@" ;;
  fetch-source) init; shift; apt-get -c "$conf" source -qq --download-only --only-source "$@" ;;
  download) init; shift; apt-get -c "$conf" download -qq "$@" ;;
  depends) init; shift; apt-cache -c "$conf" depends --no-recommends --no-suggests "$@" ;;
  *) echo "usage: $0 init|source PKG|fetch-source PKG|download PKG...|depends PKG" >&2; exit 2 ;;
esac
