#!/usr/bin/env bash
# Checks kernel/0001-io_uring-introduce-callback-driven-main-loop.patch and
# kernel/iouloop.config.  Runs under `bazel test //kernel:patch_test` and
# standalone (`bash kernel/patch_test.sh`).  Uses only bash, git, awk, sed and
# grep (plus mktemp/cp/rm for the scratch copies).
#
#  1. the patch's own diffstat summary line agrees with `git apply --numstat`
#     (files changed, insertions, deletions) and equals 6/142/1;
#  2. each per-file diffstat line agrees with numstat for that file;
#  3. every hunk header's old/new line counts match the hunk body;
#  4. the same checks FAIL on deliberately corrupted copies (so they cannot
#     pass vacuously);
#  5. the proposals 0002 to 0007 pass checks 1 to 3 with their own counts;
#     0002 to 0006 each apply alone to the kernel source kernel/test-kernel.sh
#     unpacked, when it is there (a copy with a changed context line must
#     not); 0004, 0005 and 0006 also apply one after the other (the
#     "chain" kernel test-kernel.sh builds), and 0004 to 0007 (the "direct"
#     kernel; without 0005 under it, 0007 must not apply);
#  6. iouloop.config is well formed, and every setting in it is set the same
#     way in the Debian kernel config at $IOULOOP_KERNEL_CONFIG (default
#     /var/cache/iouloop/kernel/current/config) if that file exists; the
#     comparison itself is exercised on synthetic configs either way.
#
# Prints one "@@iouloop-test PASS|FAIL|SKIP patch_test: ..." line per check
# (the suite's result protocol; tools/test.sh counts them); exits 1 if
# any check failed.
set -u

PATCH_NAME=0001-io_uring-introduce-callback-driven-main-loop.patch
CONFIG_NAME=iouloop.config
EXPECT_FILES=6
EXPECT_INS=142
EXPECT_DEL=1
# The proposal measured in docs/cost.md, against Debian's 7.2 source.
PATCH2_NAME=0002-io_uring-loop-wait-again-when-the-wanted-CQEs-are-not-there.patch
EXPECT2="1 39 15"
# The second proposal (kernel/README.md, "0003: a loop that spins on a stale
# task work notification").
PATCH3_NAME=0003-io_uring-loop-clear-a-task-work-notification-with-no-work.patch
EXPECT3="1 11 1"
# The third proposal (kernel/README.md, "0004: the region look-ups without
# a call").
PATCH4_NAME=0004-bpf-inline-bpf_io_uring_get_region-for-a-constant-region-id.patch
EXPECT4="4 98 0"
# The fourth (kernel/README.md, "0005: the BPF context entered once per loop").
PATCH5_NAME=0005-io_uring-loop-enter-the-BPF-context-once-per-loop.patch
EXPECT5="4 80 0"
# The fifth (kernel/README.md, "0006: one fast path between steps").
PATCH6_NAME=0006-io_uring-loop-one-fast-path-for-the-checks-between-steps.patch
EXPECT6="1 10 4"
# The sixth (kernel/README.md, "0007: the loop step called with no enter or
# exit"): written against the source with 0005 applied, so it is checked
# stacked, not alone.
PATCH7_NAME=0007-bpf-x86-call-a-held-io_uring-loop_step-with-no-enter-or-exit.patch
EXPECT7="3 63 2"
TRIM_NAME=test-kernel.config
# The tree kernel/test-kernel.sh unpacks (the first one found), if any.
KERNEL_SRC_GLOB="${IOULOOP_KERNEL_BUILD:-/var/cache/iouloop/ksrc}/*/linux-source-*/io_uring/loop.c"
DEBIAN_CONFIG=${IOULOOP_KERNEL_CONFIG:-/var/cache/iouloop/kernel/current/config}

if [ -n "${TEST_SRCDIR:-}" ]; then
  here="$TEST_SRCDIR/${TEST_WORKSPACE:-}/kernel"
else
  case "$0" in
    */*) here="${0%/*}" ;;
    *) here=. ;;
  esac
fi
here=$(cd "$here" && pwd)
patch="$here/$PATCH_NAME"
fragment="$here/$CONFIG_NAME"
patch2="$here/$PATCH2_NAME"
patch3="$here/$PATCH3_NAME"
patch4="$here/$PATCH4_NAME"
patch5="$here/$PATCH5_NAME"
patch6="$here/$PATCH6_NAME"
patch7="$here/$PATCH7_NAME"
trim="$here/$TRIM_NAME"

# git must not depend on the caller's configuration or repository.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="${HOME:-/tmp}"

failures=0
# Output prefix; the negative self-checks indent their (expected) output.
pfx=""
ok() { printf '%s@@iouloop-test PASS patch_test: %s\n' "$pfx" "$*"; }
fail() { printf '%s@@iouloop-test FAIL patch_test: %s\n' "$pfx" "$*"; failures=$((failures + 1)); }
skip() { printf '%s@@iouloop-test SKIP patch_test: %s\n' "$pfx" "$*"; }

# --- patch checks -----------------------------------------------------------

# check_diffstat FILE [FILES INS DEL]: summary line vs numstat vs expected
# (default: the 0001 patch's EXPECT_*); per-file lines.
check_diffstat() {
  local file=$1 summary sfiles sins sdel numstat nfiles nins ndel
  local efiles=${2:-$EXPECT_FILES} eins=${3:-$EXPECT_INS} edel=${4:-$EXPECT_DEL}
  summary=$(grep -m1 -E '^ [0-9]+ files? changed' "$file")
  if [ -z "$summary" ]; then
    fail "no diffstat summary line (' N files changed, ...') in $file"
    return
  fi
  sfiles=$(printf '%s\n' "$summary" | sed -E 's/^ ([0-9]+) files? changed.*/\1/')
  sins=$(printf '%s\n' "$summary" | sed -nE 's/.* ([0-9]+) insertions?\(\+\).*/\1/p')
  sdel=$(printf '%s\n' "$summary" | sed -nE 's/.* ([0-9]+) deletions?\(-\).*/\1/p')
  sins=${sins:-0} sdel=${sdel:-0}

  if [ "$sfiles/$sins/$sdel" = "$efiles/$eins/$edel" ]; then
    ok "${file##*/}: diffstat line says $sfiles files, $sins insertions, $sdel deletions (as expected)"
  else
    fail "${file##*/}: diffstat line says $sfiles/$sins/$sdel files/insertions/deletions, expected $efiles/$eins/$edel"
  fi

  if ! numstat=$(git apply --numstat "$file" 2>&1); then
    fail "git apply --numstat rejects the patch: $(printf '%s\n' "$numstat" | sed -n '1,3p' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/ | /g')"
    return
  fi
  read -r nfiles nins ndel < <(printf '%s\n' "$numstat" |
    awk -F'\t' 'NF >= 3 { n++; a += $1; d += $2 } END { print n + 0, a + 0, d + 0 }')
  if [ "$nfiles/$nins/$ndel" = "$sfiles/$sins/$sdel" ]; then
    ok "git apply --numstat agrees with the diffstat line ($nfiles/$nins/$ndel)"
  else
    fail "git apply --numstat gives $nfiles files, $nins insertions, $ndel deletions; the diffstat line says $sfiles/$sins/$sdel"
  fi

  # Per-file: " path | N +++--" lines between the '---' separator and the
  # summary line; N must equal added + deleted from numstat for that path.
  local bad
  bad=$(awk -F'\t' '
    FILENAME == ARGV[1] { f = 1 }
    FILENAME == ARGV[2] { f = 2 }
    f == 1 && NF >= 3 { total[$3] = $1 + $2; next }
    f == 2 && !body && /^---$/ { instat = 1; next }
    f == 2 && instat && /^ [0-9]+ files? changed/ { instat = 0; body = 1; next }
    f == 2 && instat && /\|/ {
      line = $0
      path = line; sub(/^ +/, "", path); sub(/ *\|.*$/, "", path)
      n = line; sub(/^[^|]*\| */, "", n); sub(/ .*$/, "", n)
      seen++
      found = ""
      for (p in total) {
        if (p == path) { found = p; break }
        if (substr(path, 1, 3) == "..." && substr(p, length(p) - length(path) + 4) == substr(path, 4)) found = p
      }
      if (found == "") { printf "%s: in the diffstat but not in the diff\n", path; next }
      if (total[found] != n + 0) printf "%s: diffstat says %s changed lines, numstat %d\n", path, n, total[found]
      listed[found] = 1
    }
    END {
      for (p in total) if (!(p in listed)) printf "%s: in the diff but not in the diffstat\n", p
      if (seen == 0) print "no per-file diffstat lines found"
    }' <(printf '%s\n' "$numstat") "$file")
  if [ -z "$bad" ]; then
    ok "every per-file diffstat line matches git apply --numstat"
  else
    while IFS= read -r l; do fail "per-file diffstat: $l"; done <<<"$bad"
  fi
}

# check_hunks FILE: each "@@ -a,b +c,d @@" must be followed by exactly b old
# (' ' / '-') and d new (' ' / '+') lines.
check_hunks() {
  local file=$1 out
  out=$(awk '
    function finish() {
      if (!inhunk) return
      if (o != ob || n != nb)
        printf "BAD %s: hunk \"%s\" declares -%d +%d, body has -%d +%d\n", fname, hdr, ob, nb, o, n
      else good++
      inhunk = 0
    }
    /^diff --git / { finish(); fname = $4; sub(/^b\//, "", fname); next }
    /^@@ / {
      finish()
      if (!match($0, /^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@/)) {
        printf "BAD %s: malformed hunk header \"%s\"\n", fname, $0; next
      }
      hdr = substr($0, 1, RLENGTH)
      split(hdr, f, " ")
      ob = (split(substr(f[2], 2), a, ",") > 1) ? a[2] : 1
      nb = (split(substr(f[3], 2), b, ",") > 1) ? b[2] : 1
      o = 0; n = 0; inhunk = 1; hunks++
      next
    }
    inhunk {
      if (o >= ob && n >= nb) {
        # Counts are used up: only a hunk/file header or the mail signature
        # may follow; a further body line means the header under-counts.
        if ($0 ~ /^[-+ ]/ && $0 != "-- ") {
          printf "BAD %s: hunk \"%s\" declares -%d +%d, but the body continues: \"%s\"\n", fname, hdr, ob, nb, $0
          inhunk = 0; next
        }
        finish(); next
      }
      c = substr($0, 1, 1)
      if ($0 == "" || c == " ") { o++; n++ }
      else if (c == "-") o++
      else if (c == "+") n++
      else if (c == "\\") { }
      else { finish() }
      next
    }
    END { finish(); printf "HUNKS %d %d\n", hunks, good }
  ' "$file")
  local bad hunks good
  bad=$(printf '%s\n' "$out" | grep '^BAD ' | sed 's/^BAD //')
  read -r _ hunks good < <(printf '%s\n' "$out" | grep '^HUNKS ')
  if [ "${hunks:-0}" -eq 0 ]; then
    fail "no hunks found in $file"
  elif [ -z "$bad" ]; then
    ok "all $hunks hunk headers match their bodies"
  else
    while IFS= read -r l; do fail "$l"; done <<<"$bad"
  fi
}

check_patch() {
  check_diffstat "$@"
  check_hunks "$1"
}

# --- config checks ----------------------------------------------------------

# config_settings FILE: "NAME VALUE" per setting; VALUE "n" for "is not set".
config_settings() {
  sed -nE -e 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/\1 \2/p' \
          -e 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1 n/p' "$1"
}

check_fragment_syntax() {
  local bad
  bad=$(awk '
    /^$/ || /^# CONFIG_[A-Za-z0-9_]+ is not set$/ { next }
    /^#/ { next }
    /^CONFIG_[A-Za-z0-9_]+=(y|m|n|-?[0-9]+|0x[0-9a-fA-F]+|"[^"]*")$/ {
      split($0, kv, "="); if (seen[kv[1]]++) printf "line %d: %s set twice\n", NR, kv[1]
      next
    }
    { printf "line %d: not a Kconfig setting: %s\n", NR, $0 }
  ' "$1")
  if [ -z "$bad" ]; then
    ok "${1##*/} is well formed ($(config_settings "$1" | grep -c .) settings)"
  else
    while IFS= read -r l; do fail "${1##*/} $l"; done <<<"$bad"
  fi
}

# compare_config FRAGMENT DISTRO_CONFIG LABEL: every fragment setting must be
# set the same way in DISTRO_CONFIG, except those declared "# debian-differs:".
compare_config() {
  local frag=$1 dist=$2 label=$3 out
  out=$(awk '
    function val(line,   m) {
      if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) return "n"
      m = line; sub(/^[^=]*=/, "", m); return m
    }
    function name(line,   m) {
      m = line; sub(/^# /, "", m); sub(/( is not set|=.*)$/, "", m); return m
    }
    FILENAME == ARGV[1] { f = 1 }
    FILENAME == ARGV[2] { f = 2 }
    f == 1 {
      if ($0 ~ /^# debian-differs:/) { declared = 1; next }
      if ($0 ~ /^CONFIG_/ || $0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
        k = name($0); want[k] = val($0); order[++cnt] = k
        if (declared) differs[k] = 1
        declared = 0
      }
      next
    }
    $0 ~ /^CONFIG_/ || $0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/ { have[name($0)] = val($0) }
    END {
      for (i = 1; i <= cnt; i++) {
        k = order[i]; h = (k in have) ? have[k] : "n"
        if (h == want[k]) printf "SAME %s=%s\n", k, h
        else if (k in differs) printf "DECL %s: fragment %s, %s (declared difference)\n", k, want[k], h
        else printf "DIFF %s: fragment %s, %s\n", k, want[k], h
      }
    }' "$frag" "$dist")
  local same decl diff
  same=$(printf '%s\n' "$out" | grep -c '^SAME ')
  diff=$(printf '%s\n' "$out" | grep '^DIFF ' | sed 's/^DIFF //')
  decl=$(printf '%s\n' "$out" | grep '^DECL ' | sed 's/^DECL //')
  if [ -n "$decl" ]; then
    while IFS= read -r l; do ok "$label: $l"; done <<<"$decl"
  fi
  local other=""
  [ -n "$decl" ] && other="other "
  if [ -z "$diff" ]; then
    ok "$label: all ${other}$same settings of $CONFIG_NAME are set the same way"
  else
    while IFS= read -r l; do fail "$label: $l"; done <<<"$diff"
  fi
}

# --- run --------------------------------------------------------------------

for f in "$patch" "$fragment" "$patch2" "$patch3" "$patch4" "$patch5" "$patch6" "$patch7" "$trim"; do
  if [ ! -r "$f" ]; then
    echo "@@iouloop-test FAIL patch_test: cannot read $f"
    exit 1
  fi
done
echo "patch: $patch"

check_patch "$patch"

tmp=$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/patch_test.XXXXXX") || { echo "@@iouloop-test FAIL patch_test: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

# expect_failure NAME DESCRIPTION FUNCTION FILE...: run FUNCTION on a
# corrupted input and require at least one FAIL from it.
expect_failure() {
  local what=$1 fn=$2 before=$failures out
  shift 2
  out=$(pfx="    (expected) "; "$fn" "$@"; echo "__FAILURES $failures")
  local after=${out##*__FAILURES }
  printf '%s\n' "${out%__FAILURES *}" | grep -v '^$'
  if [ "$after" -gt "$before" ]; then
    ok "self-check: $what is rejected"
  else
    fail "self-check: $what was NOT rejected; the checks above are vacuous"
  fi
}

# Corruption 1: drop the first body line of the 5th hunk (a context line of
# the io_uring.c overflow-flush hunk): hunk counts and numstat no longer fit.
awk '/^@@ /{h++} h==5 && !done && /^[ +-]/ {done=1; next} {print}' "$patch" >"$tmp/drop-line.patch"
expect_failure "a copy with one hunk body line dropped" check_patch "$tmp/drop-line.patch"

# Corruption 2: drop one added line of loop.c ("schedule();") and fix
# nothing: the hunk header and the diffstat both over-count.
awk '$0 == "+\tschedule();" && !done { done = 1; next } { print }' "$patch" >"$tmp/drop-plus.patch"
expect_failure "a copy with one added line dropped" check_patch "$tmp/drop-plus.patch"

# Corruption 3: a diffstat line that lies (143 insertions).
sed -E 's/^( [0-9]+ files? changed, )142 insertions/\1143 insertions/' "$patch" >"$tmp/bad-stat.patch"
expect_failure "a copy whose diffstat line says 143 insertions" check_diffstat "$tmp/bad-stat.patch"

# The proposals (0002 to 0006): each one's own diffstat and hunks, and that it
# applies, alone, to the kernel source kernel/test-kernel.sh builds, when
# that tree is here.
src=""
# shellcheck disable=SC2086 # the glob is meant to expand here
for f in $KERNEL_SRC_GLOB; do [ -f "$f" ] && { src=${f%/io_uring/loop.c}; break; }; done
# check_proposal FILE "FILES INS DEL" CONTEXT REPLACEMENT: CONTEXT is a
# context line of FILE (without its leading space), which the self-check
# changes to REPLACEMENT to make sure the apply check can fail.
check_proposal() {
  local file=$1 expect=$2 context=$3 replacement=$4 name=${1##*/}
  # shellcheck disable=SC2086 # expect is three numbers
  check_patch "$file" $expect
  if [ -z "$src" ]; then
    skip "no kernel source unpacked by kernel/test-kernel.sh ($KERNEL_SRC_GLOB); not checking that $name applies"
    return
  elif (cd "$src" && git apply --check "$file") 2>"$tmp/apply.err"; then
    ok "$name applies to $src"
  elif (cd "$src" && git apply --check -R "$file") 2>/dev/null; then
    ok "$name is applied in $src (a build of kernel/test-kernel.sh left it so)"
  else
    fail "$name does not apply to $src: $(head -n 2 "$tmp/apply.err" | tr '\n' ' ')"
  fi
  # The same check must notice a patch whose context is not in the source.
  awk -v from=" $context" -v to=" $replacement" '$0 == from { $0 = to } { print }' "$file" >"$tmp/bad-context.patch"
  if cmp -s "$file" "$tmp/bad-context.patch"; then
    fail "self-check: the context line to corrupt is not in $name"
  elif (cd "$src" && git apply --check "$tmp/bad-context.patch") 2>/dev/null; then
    fail "self-check: a copy of $name with a changed context line applies; the check above is vacuous"
  else
    ok "self-check: a copy of $name with a changed context line does not apply"
  fi
}
check_proposal "$patch2" "$EXPECT2" $'\t\t\treturn -EINVAL;' $'\t\t\treturn -EFAULT;'
check_proposal "$patch3" "$EXPECT3" $'\tio_loop_wait_start(ctx, nr_wait);' $'\tio_loop_wait_start(ctx, 1);'
check_proposal "$patch4" "$EXPECT4" $'\tKF_bpf_stream_print_stack,' $'\tKF_bpf_stream_print_stacks,'
check_proposal "$patch5" "$EXPECT5" $'\tschedule();' $'\tschedule_idle();'
check_proposal "$patch6" "$EXPECT6" $'\t\tif (unlikely(task_sigpending(current)))' $'\t\tif (task_sigpending(current))'

# check_stack NAME PATCH...: the patches apply one after the other (as
# kernel/test-kernel.sh stacks them for NAME) to a copy of the files they
# touch, taken from the unpacked source while none of them is applied there.
# Each is written alone against Debian's source, so where two add lines at
# the same place (0004 and 0005, include/linux/io_uring.h) the later one
# needs one line of context to match, not three: git apply -C1 (patch, which
# test-kernel.sh uses, gets there with its default fuzz).
check_stack() {
  local name=$1 p f d=$tmp/stack-$1
  shift
  if [ -z "$src" ]; then
    skip "no kernel source unpacked by kernel/test-kernel.sh; not checking that the $name stack applies"
    return
  fi
  for p in "$@"; do
    if (cd "$src" && git apply --check -R "$p") 2>/dev/null; then
      skip "${p##*/} is applied in $src (a build left it so); not checking the $name stack"
      return
    fi
  done
  for f in $(sed -n 's#^diff --git a/\([^ ]*\) b/.*#\1#p' "$@" | sort -u); do
    mkdir -p "$d/${f%/*}" && cp "$src/$f" "$d/$f"
  done
  for p in "$@"; do
    if ! (cd "$d" && git apply -C1 "$p") 2>"$tmp/stack.err"; then
      fail "the $name stack: ${p##*/} does not apply after the ones before it: $(head -n 2 "$tmp/stack.err" | tr '\n' ' ')"
      return
    fi
  done
  ok "the $name stack (${*##*/}) applies in order"
}
check_stack chain "$patch4" "$patch5" "$patch6"
# ...and it can fail: 0006 cannot apply on top of itself.
[ -z "$src" ] || expect_failure "a stack with 0006 twice" check_stack twice "$patch6" "$patch6"
# 0007 is written on top of 0005 (the trampoline's held entry): its counts,
# the direct stack, and that it needs 0005.
# shellcheck disable=SC2086 # EXPECT7 is three numbers
check_patch "$patch7" $EXPECT7
check_stack direct "$patch4" "$patch5" "$patch6" "$patch7"
[ -z "$src" ] || expect_failure "0007 without 0005 under it" check_stack no-entry "$patch4" "$patch6" "$patch7"

# Config fragments.
check_fragment_syntax "$fragment"
check_fragment_syntax "$trim"
# The test kernel's trims must not turn off what iouloop.config turns on.
both=$(comm -12 <(config_settings "$fragment" | cut -d' ' -f1 | sort) <(config_settings "$trim" | cut -d' ' -f1 | sort))
if [ -z "$both" ]; then
  ok "$TRIM_NAME sets nothing $CONFIG_NAME sets"
else
  fail "$TRIM_NAME also sets $(printf '%s' "$both" | tr '\n' ' ') (set in $CONFIG_NAME)"
fi

# The comparison itself, on synthetic "distribution" configs: one that agrees
# with the fragment must pass, one with IO_URING_BPF_OPS off must fail.
config_settings "$fragment" | awk '{ if ($2 == "n") print "# " $1 " is not set"; else print $1 "=" $2 }' >"$tmp/same.config"
compare_config "$fragment" "$tmp/same.config" "synthetic config equal to the fragment"
sed 's/^CONFIG_IO_URING_BPF_OPS=y$/# CONFIG_IO_URING_BPF_OPS is not set/' "$tmp/same.config" >"$tmp/no-ops.config"
expect_failure "a config without IO_URING_BPF_OPS" compare_config "$fragment" "$tmp/no-ops.config" "synthetic config without IO_URING_BPF_OPS"

if [ -r "$DEBIAN_CONFIG" ]; then
  compare_config "$fragment" "$DEBIAN_CONFIG" "Debian config $DEBIAN_CONFIG ($(sed -n 's/^# Linux\/\(.*\) Kernel Configuration$/\1/p' "$DEBIAN_CONFIG"))"
else
  skip "no Debian kernel config at $DEBIAN_CONFIG; not comparing $CONFIG_NAME with it"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
exit 0
