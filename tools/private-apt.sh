#!/usr/bin/env bash
# A private apt configuration for Debian sid (or the suite IOULOOP_APT_SUITE
# names), used only to download packages (never to install them): its own
# sources list, state and cache under $IOULOOP_APT_DIR. The system's apt
# sources are not touched. One directory per suite: a directory whose suite
# changes gets its lists fetched again.
#
#   private-apt.sh init                 write the configuration, update its lists
#   private-apt.sh source PKG           unpack PKG's source in the current folder
#   private-apt.sh fetch-source PKG     download PKG's source files only (no unpack)
#   private-apt.sh download PKG...      download .debs into the current folder
#   private-apt.sh depends PKG          print PKG's direct dependencies
#   private-apt.sh list PREFIX          names of the suite's packages starting with PREFIX
#   private-apt.sh version PKG...       "PKG VERSION" for each PKG the suite has a candidate of
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
  # Two runs may share $dir (two test runs side by side): one init at a time,
  # so that neither renames the other's files away nor finds apt's own lock
  # taken while the lists are not there yet. Only init holds the lock (callers
  # nest commands: fetch-kernel.sh reads one command's output while running
  # another). Files are written to a temporary name and renamed into place.
  exec 9>"$dir/private-apt.lock"
  flock 9
  touch "$dir/state/status"
  local stamp=$dir/state/updated
  local sources conf_new
  sources=$(mktemp "$dir/etc/sources.list.XXXXXX")
  cat >"$sources" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SRC
  chmod 644 "$sources"
  # Another suite than last time: the lists on disk are the other suite's.
  if ! cmp -s "$sources" "$dir/etc/sources.list"; then rm -f "$stamp"; fi
  mv -f "$sources" "$dir/etc/sources.list"
  conf_new=$(mktemp "$dir/apt.conf.XXXXXX")
  cat >"$conf_new" <<CONF
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
  chmod 644 "$conf_new"
  mv -f "$conf_new" "$conf"
  # Refresh the lists at most once a day: the suite moves, a stale list points
  # at files that are gone.
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
    # apt-get update exits 0 when it could not reach the archive (a warning
    # only): --error-on=any makes that a failure, so no stamp marks lists
    # that were never fetched.
    if apt-get -c "$conf" update -qq --error-on=any >&2 && compgen -G "$dir/state/lists/*_${suite}_*Packages*" >/dev/null; then
      touch "$stamp"
    elif compgen -G "$dir/state/lists/*_${suite}_*Packages*" >/dev/null; then
      echo "private-apt: update failed (offline?); using the lists from $(date -r "$dir/state/lists" +%F)" >&2
    else
      echo "private-apt: update failed and no lists are cached: the Debian package registry is needed once" >&2
      exit 1
    fi
  fi
  exec 9>&-   # the lock
}

case "${1:-}" in
  init) init ;;
  source) init; shift; apt-get -c "$conf" source -qq --only-source "$@" ;;
  fetch-source) init; shift; apt-get -c "$conf" source -qq --download-only --only-source "$@" ;;
  download) init; shift; apt-get -c "$conf" download -qq "$@" ;;
  depends) init; shift; apt-cache -c "$conf" depends --no-recommends --no-suggests "$@" ;;
  list) init; apt-cache -c "$conf" pkgnames "${2:?list wants a prefix}" | sort ;;
  version)
    init; shift
    for p in "$@"; do
      v=$(apt-cache -c "$conf" policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -n1)
      [ -z "$v" ] || [ "$v" = "(none)" ] || echo "$p $v"
    done ;;
  *) echo "usage: $0 init|source PKG|fetch-source PKG|download PKG...|depends PKG|list PREFIX|version PKG..." >&2; exit 2 ;;
esac
