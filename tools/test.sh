#!/usr/bin/env bash
# The whole iouloop test suite, on a fresh bookworm machine or this one:
#   1. set-up (tools/setup.sh; skipped with IOULOOP_SKIP_SETUP=1),
#   2. host tests: bazel test //..., again under ASan+UBSan (--config=asan),
#      and a consumer workspace (tests/consumer),
#   3. VM tests: the BPF engine (and the userspace engine) on a kernel with
#      io_uring_bpf_ops, booted under QEMU (tools/vm/run.sh), then a second
#      boot for the lockdown case, which cannot be undone in a boot.
# Every test case prints "@@iouloop-test PASS|FAIL|SKIP <binary>: <name>";
# this script counts them and ends with "N passed, N failed, N skipped".
# A VM test that cannot run is reported SKIPPED with the reason, never passed;
# IOULOOP_REQUIRE_VM=1 (set by CI) makes that a failure.
#   4. instruction counts: bench/icount.sh's CI profile, its table, and a
#      check against bench/icount_baseline.txt (a count that grows by more
#      than the baseline's tolerance fails), and a program of your own
#      (bench/icount/own_program, through --program) checked against the
#      workloads it repeats.
#
#   5. CMake users: the library installed with cmake --install into a temp
#      prefix, and tests/cmake_consumer built against it (find_package) and
#      from the source tree (add_subdirectory): its policy for BPF and the
#      host, run on the userspace engine; policies the build must refuse.
#
#   6. the kernel module (kernel/kmod): the listed policies compiled as native
#      kernel callbacks, built for the test kernel in the sid root, loaded in
#      the VM: attach checks, unload under a loop, the shared case tables on
#      kernel_engine and differential cases against the BPF engine.
#   7. toolchains: every header next to the uapi headers of 6.1, 7.2 and 7.3,
#      and Debian sid's toolchain (Bazel 7 + bzlmod, gcc 16, clang 21): the
#      host suite, the consumer as a module, the VM tests it builds.
#   8. kernels: the newest Debian 7.1, 7.2, 7.3 and any later series a suite
#      ships (a VM subset each; 7.2 is stage 3's), and 7.0 and 6.12 (Debian
#      13's own), whose missing io_uring_bpf_ops must be named and where the
#      userspace engine runs.
#
#   tools/test.sh [bazel flags...]
#   IOULOOP_TEST_ONLY=icount tools/test.sh    set-up, then stage 4 only
#   IOULOOP_TEST_ONLY=cmake tools/test.sh     set-up, then stage 5 only
#   IOULOOP_TEST_ONLY=kmod tools/test.sh      set-up, then stage 6 only
#   IOULOOP_TEST_ONLY=toolchains tools/test.sh  set-up, then stage 7 only
#   IOULOOP_TEST_ONLY=kernels tools/test.sh   set-up, then stage 8 only
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

if [ "${IOULOOP_SKIP_SETUP:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    tools/setup.sh || { echo "test.sh: set-up failed"; echo "0 passed, 1 failed"; exit 1; }
  else
    echo "test.sh: not root: skipping tools/setup.sh (run it once as root on a fresh machine)" >&2
  fi
fi

# run_stage NAME: whether IOULOOP_TEST_ONLY lets stage NAME run (suite: 1-3).
only=${IOULOOP_TEST_ONLY:-}
case "$only" in ""|suite|icount|cmake|kmod|toolchains|kernels) ;; *) echo "test.sh: IOULOOP_TEST_ONLY=$only: not a stage (suite, icount, cmake, kmod, toolchains, kernels)"; exit 2 ;; esac
run_stage() { [ -z "$only" ] || [ "$only" = "$1" ]; }

work=$(mktemp -d /tmp/iouloop-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
lines=$work/results   # "@@iouloop-test VERDICT name" lines, all sources
: >"$lines"

# host_pass LABEL [bazel flags...]: runs bazel test on $targets (default
# //...) and collects results. Which test targets ran and how they ended
# comes from Bazel's build event protocol (a machine-readable record, not the
# human summary); each test's own cases from the "@@iouloop-test" lines of
# its log (tests/support/result_lines.cc for Catch2, the same protocol in
# every shell test). A target whose log has no such line counts as one case.
# The bazel command (${bz[@]}) and a prefix for the paths it reports
# ($testlogs_prefix) are variables: stage 7 runs the same passes with Bazel 7
# inside the sid root.
bz=(bazel)
testlogs_prefix=
host_pass() {
  local label=$1; shift
  local targets=${targets:-//...}
  local bep=$work/bep.json
  rm -f "$bep"
  echo "== host tests ($label): bazel test $targets $*"
  "${bz[@]}" test $targets --build_event_json_file="$bep" "$@" >"$work/bazel.out" 2>&1
  local bazel_rc=$?
  grep -E '^(//|INFO: Build|ERROR|FAILED|Executed)' "$work/bazel.out"
  local testlogs
  testlogs=$testlogs_prefix$("${bz[@]}" info bazel-testlogs "$@" 2>/dev/null)
  # One testSummary event per test target: {"id":{"testSummary":{"label":"//pkg:name",...}},
  # "testSummary":{"overallStatus":"PASSED",...}}
  local summaries=0
  if [ -f "$bep" ]; then
    while read -r target status; do
      summaries=$((summaries + 1))
      local log=$testlogs/$(echo "${target#//}" | tr ':' '/')/test.log found=0
      if [ -f "$log" ]; then
        found=$(grep -ac '^@@iouloop-test ' "$log" || true)
        grep -a '^@@iouloop-test ' "$log" | sed "s/^@@iouloop-test \([A-Z]*\) /@@iouloop-test \1 [$label] /" >>"$lines"
      fi
      case "$status" in
        PASSED) [ "$found" -gt 0 ] || echo "@@iouloop-test PASS [$label] $target" >>"$lines" ;;
        *) if ! grep -aq '^@@iouloop-test FAIL' "$log" 2>/dev/null; then
             echo "@@iouloop-test FAIL [$label] $target: $status (see $log)" >>"$lines"
           fi ;;
      esac
    done < <(grep '"testSummary":{' "$bep" |
             sed -n 's/.*"testSummary":{"label":"\([^"]*\)".*"overallStatus":"\([A-Z_]*\)".*/\1 \2/p')
  fi
  if [ "$bazel_rc" != 0 ] && [ "$summaries" = 0 ]; then
    tail -n 30 "$work/bazel.out"
    echo "@@iouloop-test FAIL [$label] bazel: the build failed before any test ran (exit $bazel_rc)" >>"$lines"
  fi
}
# vm_pass LABEL LIMIT BIN...: runs the static test binaries in one VM boot
# (LIMIT seconds for the VM) and accounts for every test case they hold. With
# a LABEL, result names get "[LABEL] ". Sets vm_rc (77: the VM could not run).
# vm_pre: run.sh options, and programs that are not Catch2 tests, put before
# the Catch2 programs (stage 6: the module and its shell tests).
# vm_spec: a Catch2 test spec (one word, e.g. "[lockdown]") the programs run
# with; the cases it selects are then the ones that must report.
vm_pre=() vm_spec=
vm_pass() {
  local label=$1 limit=$2; shift 2
  local out=$work/vm${label:+-$label}.out res=$work/vm${label:+-$label}.results tag=${label:+[$label] }
  tools/vm/run.sh --timeout "$limit" --args "--colour-mode none${vm_spec:+ $vm_spec}" "${vm_pre[@]}" "$@" >"$out" 2>&1
  vm_rc=$?
  grep -E '^(vm:|SKIPPED|run.sh|diff_fuzz: seed|trace_diff: seed|params_fuzz:)' "$out"
  # A case that hung (per-case time limit in the fuzz tests): its whole report.
  grep -E -A120 '^[a-z_]+: case [0-9]+ HUNG' "$out" | grep -v '^@@iouloop-test PASS' | head -200
  grep -E -A8 '^[^@].*FAILED:' "$out" | head -200
  grep '^@@iouloop-test ' "$out" >"$res" || true
  # Every test case the binaries hold must be accounted for: what the VM did
  # not report is SKIPPED (VM unavailable) or FAILED (VM crashed/timed out).
  # A program that did not finish says why in its "vm: NAME did not ..." line
  # (killed at its time limit, the VM's limit, a crash); that reason goes
  # with each of its unreported cases.
  local b name why
  for b in "$@"; do
    name=$(basename "$b")
    why=$(sed -n "s/^vm: $name \(did not \(finish\|run\): .*\)$/\1/p" "$out" | head -n1)
    "$b" ${vm_spec:+"$vm_spec"} --list-tests --verbosity quiet 2>/dev/null | while IFS= read -r tc; do
      [ -n "$tc" ] || continue
      if grep -qF -- "$name: $tc" "$res"; then continue; fi
      if [ "$vm_rc" = 77 ]; then
        echo "@@iouloop-test SKIP $tag$name: $tc" >>"$lines"
      else
        echo "@@iouloop-test FAIL $tag$name: $tc (no result from the VM${why:+: $name $why})" >>"$lines"
      fi
    done
  done
  sed "s/^@@iouloop-test \([A-Z]*\) /@@iouloop-test \1 $tag/" "$res" >>"$lines"
  # A program that did not finish (a hang in its teardown, say) is a failure
  # even when every case it holds reported before it was stopped.
  for b in "$@"; do
    name=$(basename "$b")
    why=$(sed -n "s/^vm: $name \(did not \(finish\|run\): .*\)$/\1/p" "$out" | head -n1)
    if [ -n "$why" ] && ! grep -q "^@@iouloop-test FAIL $tag$name: " "$lines"; then
      echo "@@iouloop-test FAIL $tag$name: $why" >>"$lines"
    fi
  done
  if [ "$vm_rc" = 77 ]; then
    echo "SKIPPED: VM tests${label:+ ($label)}: $(grep -m1 '^SKIPPED' "$out" | sed 's/^SKIPPED: VM tests: //')"
    if [ "${IOULOOP_REQUIRE_VM:-0}" = 1 ]; then
      echo "@@iouloop-test FAIL ${tag}vm: IOULOOP_REQUIRE_VM=1 but the VM could not run" >>"$lines"
    fi
  fi
}

if run_stage suite; then   # stages 1-3

# ---- 1. host tests (plain, then under ASan+UBSan) ------------------------------

host_pass host "$@"
host_pass asan --config=asan "$@"

# ---- chaos: the userspace engine doing what the kernel may do ----------------------
# Early and spurious wake-ups, partial batches, deferred task work (see
# include/iouloop/engine/userspace.hpp). Fixed seeds, so that CI repeats
# itself; IOULOOP_CHAOS_SEEDS="..." runs others. Cases tagged [exact-wake]
# check that the engine sleeps to the target, which chaos breaks on purpose.
chaos_targets="//tests:semantics_userspace_test //tests:workloads_userspace_test
//tests/bad_input:bad_input_userspace_test //examples/echo:echo_test //examples/timer:timer_test
//tests/bufring:relay_test //tests/direct:direct_test //examples/echo2:echo2_test //examples/proxy:proxy_test"
for seed in ${IOULOOP_CHAOS_SEEDS:-1 2 3}; do
  before=$(grep -c ' FAIL ' "$lines" || true)
  targets=$chaos_targets host_pass "chaos $seed" --test_env=IOULOOP_CHAOS_SEED=$seed --test_arg='~[exact-wake]' "$@"
  if [ "$(grep -c ' FAIL ' "$lines" || true)" != "$before" ]; then
    echo "chaos seed $seed failed; replay: bazel test <target> --test_env=IOULOOP_CHAOS_SEED=$seed --test_arg='~[exact-wake]' --test_output=all"
  fi
done

# ---- style: the tree is formatted (tools/style.sh: clang-format-19, buildifier) --
if tools/style.sh --check >"$work/style.out" 2>&1; then
  echo "@@iouloop-test PASS style: $(tail -n 1 "$work/style.out" | sed 's/^style.sh: //')" >>"$lines"
else
  head -n 20 "$work/style.out"
  echo "@@iouloop-test FAIL style: files are not formatted (tools/style.sh lists them; tools/style.sh fixes them)" >>"$lines"
fi

# ---- layering: a header from a layer a target does not depend on fails ------------
# (tests/layering/BUILD.bazel; Bazel cannot run inside a test, so here)
for t in policy_wrong_include:iouloop/engine/userspace.hpp userspace_wrong_include:iouloop/engine/bpf.hpp; do
  target=//tests/layering:${t%%:*} header=${t#*:}
  if bazel build "$target" "$@" >"$work/layering.out" 2>&1; then
    echo "@@iouloop-test FAIL layering: $target built, but it includes $header from a layer it does not depend on" >>"$lines"
  elif grep -q "$header: No such file or directory\|undeclared inclusion" "$work/layering.out"; then
    echo "@@iouloop-test PASS layering: $target fails to build: $header is not in its layer" >>"$lines"
  else
    tail -n 20 "$work/layering.out"
    echo "@@iouloop-test FAIL layering: $target failed to build for another reason than the wrong include" >>"$lines"
  fi
done

# ---- a BPF object libbpf could not load fails its build ---------------------------
# iouloop_bpf_program inlines every function of a policy; what cannot be
# (noinline, recursion) or is not defined must stop the build, naming the
# function (bpf/call_check.cc; the target is manual, tests/inline/BUILD.bazel).
target=//tests/inline:refused_bpf.embed
if bazel build "$target" "$@" >"$work/calls.out" 2>&1; then
  echo "@@iouloop-test FAIL calls: $target built, but its programs call functions libbpf cannot load" >>"$lines"
else
  for want in "BPF program 'noinline' (noinline_step) calls 'void refused::note_completion<" \
    "calls 'refused::calls_for(unsigned int)', which was not inlined: it is recursive" \
    "calls 'defined_elsewhere', which is declared but not defined"; do
    if grep -qF -- "$want" "$work/calls.out"; then
      echo "@@iouloop-test PASS calls: $target fails to build, saying: $want" >>"$lines"
    else
      tail -n 20 "$work/calls.out"
      echo "@@iouloop-test FAIL calls: $target fails to build, saying: $want" >>"$lines"
    fi
  done
fi

# A policy that includes a standard header must stop at the include, saying
# what to use instead (bpf/defs.bzl, _NO_STD_HEADERS; manual target).
target=//tests/inline:stdlib_bpf.embed
want="iouloop: <array> is part of the standard library, which a policy cannot use in BPF"
if bazel build "$target" "$@" >"$work/stdlib.out" 2>&1; then
  echo "@@iouloop-test FAIL stdlib: $target built, but its policy includes <array>" >>"$lines"
elif grep -qF -- "$want" "$work/stdlib.out"; then
  echo "@@iouloop-test PASS stdlib: $target fails to build, saying: $want" >>"$lines"
else
  tail -n 20 "$work/stdlib.out"
  echo "@@iouloop-test FAIL stdlib: $target fails to build, saying: $want" >>"$lines"
fi

# ---- 2. a consumer workspace ------------------------------------------------------
# tests/consumer depends on @iouloop and builds its own policy with the rule.
echo "== consumer workspace: tests/consumer"
if (cd tests/consumer && bazel build //:app "$@" >"$work/consumer.out" 2>&1 && ./bazel-bin/app >>"$work/consumer.out" 2>&1); then
  echo "@@iouloop-test PASS consumer: a workspace depending on @iouloop builds its policy and runs it" >>"$lines"
else
  tail -n 30 "$work/consumer.out"
  echo "@@iouloop-test FAIL consumer: a workspace depending on @iouloop builds its policy and runs it" >>"$lines"
fi
tail -n 1 "$work/consumer.out"
(cd tests/consumer && bazel shutdown >/dev/null 2>&1) || true

# ---- 3. VM tests --------------------------------------------------------------
# The VM's test plan: every static twin iouloop_test declares (tag
# iouloop_vm, tests/defs.bzl), found in the build graph.
vm_targets=$(bazel query 'attr(tags, "iouloop_vm", //...)' 2>"$work/vm-query.err" | sort)
[ -n "$vm_targets" ] || { cat "$work/vm-query.err"; echo "@@iouloop-test FAIL vm-plan: bazel query found no iouloop_vm targets" >>"$lines"; }
echo "== VM tests: building static test binaries"
vm_bins=()
if bazel build $vm_targets "$@" >"$work/vm-build.out" 2>&1; then
  bin=$(bazel info bazel-bin "$@" 2>/dev/null)
  for t in $vm_targets; do vm_bins+=("$bin/$(echo "${t#//}" | tr ':' '/')"); done
else
  tail -n 30 "$work/vm-build.out"
  echo "@@iouloop-test FAIL vm-build: the VM test binaries did not build" >>"$lines"
fi

if [ ${#vm_bins[@]} -gt 0 ]; then
  echo "== VM tests: booting the test kernel"
  # The differential fuzz: $IOULOOP_VM_FUZZ_CASES cases (default 700, a new
  # seed each run, printed with its replay command). About 0.45 s a case
  # under TCG here (100 cases: 54 s with the boot): 1000 were 7.5 minutes of
  # CI's 40; stage 6 runs 60 more with the native engine as a third.
  vm_pre=(--env "IOULOOP_FUZZ_CASES=${IOULOOP_VM_FUZZ_CASES:-700}")
  vm_pass "" 1800 "${vm_bins[@]}"
  vm_pre=()
  # The harness itself: per-program time limit, the VM's limit, boot retry
  # (tools/vm/selftest.sh boots the VM three times; it is not a Bazel test
  # because QEMU does not run reliably inside Bazel's sandbox).
  if [ "$vm_rc" != 77 ]; then
    echo "== VM tests: the VM harness (tools/vm/selftest.sh)"
    tools/vm/selftest.sh >"$work/vm-selftest.out" 2>&1
    grep -E '^(SKIPPED|@@iouloop-test FAIL|    \|)' "$work/vm-selftest.out"
    grep '^@@iouloop-test ' "$work/vm-selftest.out" >>"$lines"
  fi
  # Lockdown is one-way for a boot, so tests/privileges_test.cc's lockdown
  # case skips in the boot above and runs here, in a boot of its own, on
  # request (IOULOOP_TEST_LOCKDOWN=1). Its SKIP from the boot above is then
  # dropped: the case is counted once, with what this boot found.
  priv=$(printf '%s\n' "${vm_bins[@]}" | grep '/tests/privileges_test_static$')
  if [ "$vm_rc" != 77 ] && [ -n "$priv" ]; then
    echo "== VM tests: lockdown, in a boot of its own"
    vm_pre=(--env IOULOOP_TEST_LOCKDOWN=1) vm_spec="[lockdown]"
    vm_pass lockdown 400 "$priv"
    vm_pre=() vm_spec=
    # Each case this boot reported (vm_pass's results, untagged) names the
    # SKIP line to drop.
    sed -n 's/^@@iouloop-test \(PASS\|FAIL\) /@@iouloop-test SKIP /p' "$work/vm-lockdown.results" >"$work/lockdown.ran"
    grep -vxF -f "$work/lockdown.ran" "$lines" >"$lines.tmp" && mv "$lines.tmp" "$lines"
  fi
fi

fi   # stages 1-3

# ---- 8. the kernel matrix: the newest 7.1, 7.2, 7.3 (and later) Debian ships, 7.0, 6.12 --
#   IOULOOP_TEST_ONLY=kernels tools/test.sh   set-up, then this stage only
# Each series is resolved from the archive every run (tools/vm/fetch-kernel.sh
# --series: sid, trixie-backports and experimental through the private apt
# configuration, cached under /var/cache/iouloop/kernel/<kver>), never pinned.
# Stage 3's kernel (sid's, `current`) ran the full VM suite above: its line
# here sums that. Every other kernel runs a subset, in its own VM boot, each
# program with its own time limit: the semantics table on both engines, the
# BPF engine's own cases (engines_bpf_test: the verifier's refusals, leaks,
# SQ_REWIND rings, ring variants, the kernel's run statistics), the README's
# and the unannotated policies' BPF tests, the loader example, a short
# differential fuzz, and
# tests/kernels/kernel_cli.sh (iouloop-probe and nop say the BPF engine is
# available). A kernel without the feature runs tests/kernels:no_bpf_ops_test,
# tests:probe_test and kernel_cli.sh, which check that the probe and the
# engines name io_uring_bpf_ops as missing and that the examples run on the
# userspace engine, and the userspace engine's semantics, workload and
# buffer-ring relay tables:
# 7.0, and 6.12, Debian 13's own kernel, which also lacks what came after it
# (the multishot recv limit the proxy and echo2 use where the kernel has it,
# SQ_REWIND, registered memory regions). Up to two VMs at once
# (IOULOOP_KERNEL_JOBS; QEMU runs on one host thread each). One line per
# kernel, and each case as "@@iouloop-test ... [7.N] program: case".
# Series after 7.3 join by themselves once a suite ships them (below).
# No network and nothing cached, or no VM: SKIP, loudly; FAIL under
# IOULOOP_REQUIRE_VM=1. IOULOOP_KERNEL_SERIES, IOULOOP_KERNEL_WITHOUT and
# IOULOOP_KERNEL_FUZZ_CASES change the matrix, the featureless kernel and the
# fuzz cases.
if run_stage kernels; then
km=$work/kernels
mkdir -p "$km"
km_without=${IOULOOP_KERNEL_WITHOUT-7.0 6.12}
# The series: IOULOOP_KERNEL_SERIES as given; else 7.1, 7.2, 7.3 and every
# later series the archive ships (fetch-kernel.sh --matrix), so that a new
# Debian kernel with the feature is tested from its first upload.
if [ -n "${IOULOOP_KERNEL_SERIES+set}" ]; then
  km_series=$IOULOOP_KERNEL_SERIES
else
  km_series=$(timeout -k 10 600 tools/vm/fetch-kernel.sh --matrix 7.1 7.2 7.3 2>"$km/matrix.err") || km_series="7.1 7.2 7.3"
  sed 's/^/  /' "$km/matrix.err"
fi
echo "== kernel matrix: the newest Debian $km_series${km_without:+ (and $km_without, without io_uring_bpf_ops)}"
km_t0=$SECONDS
km_kdir=${IOULOOP_KERNEL_DIR:-/var/cache/iouloop/kernel}
km_jobs=${IOULOOP_KERNEL_JOBS:-$(($(nproc) >= 2 ? 2 : 1))}
km_fuzz=${IOULOOP_KERNEL_FUZZ_CASES:-30}
# Programs of each kind of run, "TARGET LIMIT" (guest seconds; 3-6x what
# each took on the 2-core build machine under load), then kernel_cli.sh.
# Not the echo and timer tests: with two VMs on two cores their millisecond
# timeouts race the emulation (a link timeout fired before its read was
# reaped: seen once each in two runs); stage 3 runs them on one VM.
km_subset="//tests:semantics_bpf_test_static 300
//tests:semantics_userspace_test_static 180
//tests:engines_bpf_test_static 400
//tests/readme:readme_bpf_test_static 180
//tests/inline:plain_bpf_test_static 180
//examples/loader:loader_test_static 300
//tests/fuzz:diff_fuzz_test_static 300"
km_without_programs="//tests/kernels:no_bpf_ops_test_static 180
//tests:probe_test_static 120
//tests:semantics_userspace_test_static 180
//tests:workloads_userspace_test_static 300
//tests/bufring:relay_test_static 120"
km_files="//tools:probe_static //examples/nop:nop_static //examples/cp:cp_static //examples/proxy:proxy_static //examples/echo2:echo2_static"   # for kernel_cli.sh
# km_verdict WHAT: SKIP, or FAIL under IOULOOP_REQUIRE_VM=1.
km_verdict() {
  if [ "${IOULOOP_REQUIRE_VM:-0}" = 1 ]; then
    echo "@@iouloop-test FAIL kernels: IOULOOP_REQUIRE_VM=1 but $1" >>"$lines"
  else
    echo "@@iouloop-test SKIP kernels: $1" >>"$lines"
  fi
  echo "SKIPPED: kernel matrix: $1"
}
# The kernels: "SERIES KVER SUITE VERSION VMLINUZ KIND" per line (KIND:
# full, subset, without).
: >"$km/plan"
: >"$km/summary"
km_full=""
if run_stage suite && [ -n "${vm_rc:-}" ] && [ "${vm_rc:-}" != 77 ] && [ -f "$work/vm.results" ]; then
  km_full=$(readlink "$km_kdir/current" 2>/dev/null || true)
fi
for s in $km_series $km_without; do
  kind=subset
  case " $km_without " in *" $s "*) kind=without ;; esac
  if r=$(timeout -k 10 600 tools/vm/fetch-kernel.sh --series "$s" 2>"$km/fetch-$s.err"); then
    sed "s/^/  [$s] /" "$km/fetch-$s.err"
    read -r kver suite version vmlinuz <<<"$r"
    # A kernel of the list that lacks the feature (fetch-kernel.sh's
    # `feature` line from its config or BTF) runs the featureless programs,
    # and the subset it could not run is a SKIP.
    if [ "$kind" = subset ] && grep -q '^no' "$(dirname "$vmlinuz")/feature" 2>/dev/null; then
      kind=without
      echo "  [$s] $kver lacks io_uring_bpf_ops (feature: $(cat "$(dirname "$vmlinuz")/feature")): the featureless programs run"
      echo "@@iouloop-test SKIP kernels: $s: $kver lacks io_uring_bpf_ops, so the BPF subset cannot run on it" >>"$lines"
    fi
    [ "$kind" = subset ] && [ "$kver" = "$km_full" ] && kind=full
    echo "$s $kver $suite $version $vmlinuz $kind" >>"$km/plan"
  else
    km_verdict "kernel $s: not fetched: $(tail -n 1 "$km/fetch-$s.err" | sed 's/^fetch-kernel: //')"
    echo "kernel $s: SKIPPED: not fetched (above)" >>"$km/summary"
  fi
done
# The static programs the plan needs.
km_targets=$km_files
grep -q ' subset$' "$km/plan" && km_targets="$km_targets $(echo "$km_subset" | cut -d' ' -f1)"
grep -q ' without$' "$km/plan" && km_targets="$km_targets $(echo "$km_without_programs" | cut -d' ' -f1)"
km_bin=""
if grep -q ' \(subset\|without\)$' "$km/plan"; then
  if bazel build $km_targets "$@" >"$km/build.out" 2>&1; then
    km_bin=$(bazel info bazel-bin "$@" 2>/dev/null)
  else
    tail -n 30 "$km/build.out"
    echo "@@iouloop-test FAIL kernels: the VM test binaries did not build" >>"$lines"
  fi
fi
# km_boot SERIES KIND VMLINUZ: one VM boot; $km/SERIES.{out,rc,secs}.
km_boot() {
  local s=$1 kind=$2 vmlinuz=$3 progs limits=() t0=$SECONDS envs=()
  if [ "$kind" = subset ]; then
    progs=$km_subset envs=(--env IOULOOP_EXPECT_BPF_OPS=1 --env "IOULOOP_FUZZ_CASES=$km_fuzz")
  else
    progs=$km_without_programs envs=(--env IOULOOP_EXPECT_BPF_OPS=0 --env IOULOOP_EXPECT_NO_BPF_OPS=1)
  fi
  local paths=() target lim
  while read -r target lim; do
    paths+=("$km_bin/$(echo "${target#//}" | tr ':' '/')")
    limits+=(--program-timeout "${target##*:}=$lim")
  done <<<"$progs"
  IOULOOP_VM_KERNEL=$vmlinuz timeout -k 10 2400 tools/vm/run.sh --timeout 1800 "${limits[@]}" \
    --program-timeout kernel_cli.sh=180 "${envs[@]}" --args "--colour-mode none" \
    --file "$km_bin/tools/probe_static" --file "$km_bin/examples/nop/nop_static" --file "$km_bin/examples/cp/cp_static" \
    --file "$km_bin/examples/proxy/proxy_static" --file "$km_bin/examples/echo2/echo2_static" \
    "${paths[@]}" tests/kernels/kernel_cli.sh >"$km/$s.out" 2>&1
  echo $? >"$km/$s.rc"
  echo $((SECONDS - t0)) >"$km/$s.secs"
}
if [ -n "$km_bin" ]; then
  # Longest first: the subset kernels, then the ones without the feature.
  while read -r s kver suite version vmlinuz kind; do
    [ "$kind" = full ] && continue
    while [ "$(jobs -rp | wc -l)" -ge "$km_jobs" ]; do wait -n; done
    echo "  [$s] booting $kver ($kind)"
    km_boot "$s" "$kind" "$vmlinuz" &
  done < <(sort -k6,6 "$km/plan")
  wait
fi
# Results: what each VM said, then one line per kernel, in series order.
while read -r s kver suite version vmlinuz kind; do
  feature=$(cat "$km_kdir/$kver/feature" 2>/dev/null || echo unknown)
  about="$kver ($suite $version; io_uring_bpf_ops: $feature)"
  if [ "$kind" = full ]; then
    echo "kernel $s: $about: the full VM suite (stage 3): $(grep -c '^@@iouloop-test PASS ' "$work/vm.results") passed," \
      "$(grep -c '^@@iouloop-test FAIL ' "$work/vm.results") failed, VM exit $vm_rc" >>"$km/summary"
    continue
  fi
  [ -f "$km/$s.rc" ] || { echo "kernel $s: $about: not run (the binaries did not build)" >>"$km/summary"; continue; }
  rc=$(cat "$km/$s.rc") secs=$(cat "$km/$s.secs")
  out=$km/$s.out
  grep -E '^(vm:|SKIPPED|run.sh|diff_fuzz: seed)' "$out" | sed "s/^/  [$s] /"
  grep -E -A8 '^[^@].*FAILED:|^[a-z_]+: case [0-9]+ HUNG|^    \| ' "$out" | head -60 | sed "s/^/  [$s] /"
  if [ "$rc" = 77 ]; then
    km_verdict "kernel $s ($kver): the VM cannot run here: $(grep -m1 '^SKIPPED' "$out" | sed 's/^SKIPPED: VM tests: //')"
    echo "kernel $s: $about: SKIPPED (no VM)" >>"$km/summary"
    continue
  fi
  : >"$km/$s.lines"
  # Every case must be reported (as in stage 3); a program that did not
  # finish says why with each case it did not report.
  if [ "$kind" = subset ]; then progs=$km_subset; else progs=$km_without_programs; fi
  for target in $(echo "$progs" | cut -d' ' -f1) kernel_cli.sh; do
    name=${target##*:}
    why=$(sed -n "s/^vm: $name \(did not \(finish\|run\): .*\)$/\1/p" "$out" | head -n1)
    if [ "$name" = kernel_cli.sh ]; then
      grep -q "^@@iouloop-test [A-Z]* kernel_cli: " "$out" ||
        echo "@@iouloop-test FAIL kernel_cli: no result from the VM${why:+: $name $why}" >>"$km/$s.lines"
    else
      "$km_bin/$(echo "${target#//}" | tr ':' '/')" --list-tests --verbosity quiet 2>/dev/null | while IFS= read -r tc; do
        [ -n "$tc" ] || continue
        grep -qF -- "$name: $tc" "$out" ||
          echo "@@iouloop-test FAIL $name: $tc (no result from the VM${why:+: $name $why})" >>"$km/$s.lines"
      done
    fi
    if [ -n "$why" ] && ! grep -q "^@@iouloop-test FAIL ${name%.sh}: " "$out" "$km/$s.lines"; then
      echo "@@iouloop-test FAIL ${name%.sh}: $why" >>"$km/$s.lines"
    fi
  done
  grep '^@@iouloop-test ' "$out" >>"$km/$s.lines"
  sed "s/^@@iouloop-test \([A-Z]*\) /@@iouloop-test \1 [$s] /" "$km/$s.lines" >>"$lines"
  echo "kernel $s: $about: $([ "$kind" = subset ] && echo subset || echo "without the feature")":\
    "$(grep -c '^@@iouloop-test PASS ' "$km/$s.lines") passed, $(grep -c '^@@iouloop-test FAIL ' "$km/$s.lines") failed," \
    "$(grep -c '^@@iouloop-test SKIP ' "$km/$s.lines") skipped, ${secs} s (VM exit $rc)" >>"$km/summary"
done <"$km/plan"
echo "== kernel matrix: $((SECONDS - km_t0)) s, ${km_jobs} VM(s) at a time"
cat "$km/summary"
fi   # stage 8

# ---- 5. CMake users (run before stage 4, which is the longest) -----------------------
# cmake --install into a temp prefix; tests/cmake_consumer through
# find_package and through add_subdirectory builds the Bazel consumer's
# policy with iouloop_bpf_program (cmake/iouloopBpf.cmake) and runs it on the
# userspace engine; the function refuses what the Bazel rule refuses.
if run_stage cmake; then
cm=$work/cmake
echo "== CMake: install, then tests/cmake_consumer (find_package, add_subdirectory)"
# cmake_case NAME WHAT COMMAND...: one result line; the log's tail on failure.
cmake_case() {
  local name=$1 what=$2; shift 2
  if "$@" >"$cm/$name.out" 2>&1; then
    echo "@@iouloop-test PASS cmake-$name: $what" >>"$lines"
  else
    tail -n 30 "$cm/$name.out"
    echo "@@iouloop-test FAIL cmake-$name: $what (log: tail above)" >>"$lines"
    return 1
  fi
}
cmake_install() {
  cmake -S "$top" -B "$cm/lib" -DCMAKE_INSTALL_PREFIX="$cm/prefix" && cmake --build "$cm/lib" -j 2 &&
    cmake --install "$cm/lib" && test -f "$cm/prefix/lib/cmake/iouloop/iouloopConfig.cmake" &&
    test -f "$cm/prefix/include/iouloop/iouloop.hpp"
}
cmake_consumer() {   # BUILD_DIR cmake-args...
  local b=$1; shift
  cmake -S "$top/tests/cmake_consumer" -B "$b" "$@" && cmake --build "$b" -j 2 &&
    test -s "$b/countdown_bpf.bpf/countdown_bpf.bpf.o" && "$b/app"
}
mkdir -p "$cm"
if ! command -v cmake >/dev/null; then
  echo "@@iouloop-test FAIL cmake: cmake is not installed (tools/setup.sh installs it)" >>"$lines"
elif cmake_case install "cmake --install puts the headers, the targets, the checkers and iouloop_bpf_program in a prefix" cmake_install; then
  cmake_case find-package "a project with find_package(iouloop) builds its policy for BPF and the host, and runs it" \
    cmake_consumer "$cm/consumer" -DCMAKE_PREFIX_PATH="$cm/prefix"
  cmake_case add-subdirectory "a project with add_subdirectory(iouloop) builds its policy for BPF and the host, and runs it" \
    cmake_consumer "$cm/consumer-sub" -DIOULOOP_SOURCE_DIR="$top"
  # The find_package build's policy on the BPF engine, in the VM.
  if [ -x "$cm/consumer/app_bpf_static" ]; then
    tools/vm/run.sh --timeout 300 --program-timeout 120 "$cm/consumer/app_bpf_static" >"$cm/vm.out" 2>&1
    cm_rc=$?
    what="a project with find_package(iouloop) runs its policy on the BPF engine in the VM"
    if grep -q '^cmake consumer (BPF engine): .*: ok$' "$cm/vm.out"; then
      echo "@@iouloop-test PASS cmake-vm: $what" >>"$lines"
    elif [ "$cm_rc" = 77 ] && [ "${IOULOOP_REQUIRE_VM:-0}" != 1 ]; then
      echo "@@iouloop-test SKIP cmake-vm: $what ($(grep -m1 'SKIPPED' "$cm/vm.out"))" >>"$lines"
    else
      tail -n 20 "$cm/vm.out"
      echo "@@iouloop-test FAIL cmake-vm: $what (exit $cm_rc)" >>"$lines"
    fi
  fi
  # What the function must refuse, each with what it must say.
  if cmake -S "$top/tests/cmake_consumer" -B "$cm/refused" -DCMAKE_PREFIX_PATH="$cm/prefix" \
      -DIOULOOP_CONSUMER_REFUSED=ON >"$cm/refused.out" 2>&1; then
    while IFS='|' read -r target want; do
      if cmake --build "$cm/refused" --target "${target}_generate" >"$cm/$target.out" 2>&1; then
        echo "@@iouloop-test FAIL cmake-refuse: $target built, but it must not" >>"$lines"
      elif grep -qF -- "$want" "$cm/$target.out"; then
        echo "@@iouloop-test PASS cmake-refuse: $target fails to build, saying: $want" >>"$lines"
      else
        tail -n 20 "$cm/$target.out"
        echo "@@iouloop-test FAIL cmake-refuse: $target fails to build, saying: $want" >>"$lines"
      fi
    done <<'CASES'
pointer_bpf|CMake target pointer_bpf: error: BPF program 'with_pointer': its params_type (struct params) holds pointers
refused_bpf|calls 'refused::calls_for(unsigned int)', which was not inlined: it is recursive
stdlib_bpf|iouloop: <array> is part of the standard library, which a policy cannot use in BPF
CASES
  else
    tail -n 30 "$cm/refused.out"
    echo "@@iouloop-test FAIL cmake-refuse: tests/cmake_consumer with IOULOOP_CONSUMER_REFUSED=ON did not configure" >>"$lines"
  fi
fi
grep "^@@iouloop-test [A-Z]* cmake" "$lines" | sed "s/^@@iouloop-test /  /"
fi   # stage 5

# ---- 7. toolchains: the uapi headers, and Debian sid's toolchain -----------------
# iouloop must build where users are (issue 11). Two parts:
#  - every public header next to <linux/io_uring.h> from 6.1 (bookworm), 7.2
#    (sid) and 7.3 (experimental), both include orders, g++ and clang++
#    (tests/uapi_headers/check.sh; headers from tools/fetch-uapi.sh);
#  - the sid toolchain (tools/sid-root.sh: Bazel 7.7.1 under bzlmod with
#    --noenable_workspace, gcc 16, clang 21, libbpf 1.7, liburing-dev): the
#    host suite, the consumer workspace as a bzlmod module, and the VM tests
#    built by that toolchain, run in the VM ([sid] in their names).
# No sid root (offline, no mmdebstrap): SKIP, or FAIL under IOULOOP_REQUIRE_VM=1.
if run_stage toolchains; then
tc_t0=$SECONDS
echo "== toolchains: uapi headers 6.1 / 7.2 / 7.3 (tests/uapi_headers/check.sh)"
uapi_roots=$(tools/fetch-uapi.sh 2>"$work/uapi-fetch.err")
sed 's/^/  /' "$work/uapi-fetch.err"
for suite in bookworm sid experimental; do
  grep -q "/$suite\$" <<<"$uapi_roots" ||
    echo "@@iouloop-test FAIL uapi-headers: linux-libc-dev from $suite could not be fetched (tools/fetch-uapi.sh)" >>"$lines"
done
for r in $uapi_roots; do
  tests/uapi_headers/check.sh "$r" g++ clang++-19 >"$work/uapi.out" 2>&1
  sed -n 's/^uapi_headers: \(PASS\|FAIL\) /  \1 /p' "$work/uapi.out"
  sed -n 's/^uapi_headers: PASS \(.*\)$/@@iouloop-test PASS uapi-headers: \1/p; s/^uapi_headers: FAIL \(.*\):$/@@iouloop-test FAIL uapi-headers: \1/p' "$work/uapi.out" >>"$lines"
  grep -q '^uapi_headers: FAIL' "$work/uapi.out" && grep -v '^uapi_headers: PASS' "$work/uapi.out" | head -n 30
done

echo "== toolchains: Debian sid root (tools/sid-root.sh ensure)"
sid_limit=3000   # a hang guard for the Bazel 7 passes; the VM run has its own limit
if ! tools/sid-root.sh ensure >"$work/sid-root.out" 2>&1; then
  tail -n 20 "$work/sid-root.out"
  if [ "${IOULOOP_REQUIRE_VM:-0}" = 1 ]; then
    echo "@@iouloop-test FAIL sid: IOULOOP_REQUIRE_VM=1 but the sid root could not be made (tools/sid-root.sh ensure)" >>"$lines"
  else
    echo "@@iouloop-test SKIP sid: the sid root could not be made (offline? tools/sid-root.sh ensure says why above)" >>"$lines"
  fi
else
  sid_root=$(tools/sid-root.sh path)
  # A copy of this checkout (as it is, uncommitted changes too) at a path of
  # its own, so Bazel 7's output base stays put between runs.
  sid_src=/var/cache/iouloop/sid-src/$(printf '%s' "$top" | md5sum | cut -c1-12)
  rm -rf "$sid_src"; mkdir -p "$sid_src"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$sid_src"
  # Results go to $work; kernel:patch_test compares with the test kernel's config.
  export IOULOOP_SID_BINDS="$work$([ -d /var/cache/iouloop/kernel ] && echo " /var/cache/iouloop/kernel")"
  sidb() { timeout -k 10 "$sid_limit" tools/sid-root.sh run "$sid_src" bazel "$@"; }
  sid_flags=(--noenable_workspace --registry=file:///registry)
  sid_tools=$(tools/sid-root.sh run "$sid_src" sh -c 'echo "$(bazel --version 2>/dev/null), $(gcc --version | head -n1), $(clang --version | head -n1)"')
  echo "   $sid_tools"
  bz=(sidb); testlogs_prefix=$sid_root
  host_pass sid "${sid_flags[@]}"
  bz=(bazel); testlogs_prefix=
  echo "== toolchains: the consumer workspace as a bzlmod module (Bazel 7, --noenable_workspace)"
  if timeout -k 10 "$sid_limit" tools/sid-root.sh run "$sid_src" sh -c \
      'cd tests/consumer && bazel build --noenable_workspace --registry=file:///registry //:app && ./bazel-bin/app' >"$work/sid-consumer.out" 2>&1; then
    echo "@@iouloop-test PASS [sid] consumer: a Bazel 7 module with bazel_dep(iouloop) builds its policy and runs it" >>"$lines"
  else
    tail -n 30 "$work/sid-consumer.out"
    echo "@@iouloop-test FAIL [sid] consumer: a Bazel 7 module with bazel_dep(iouloop) builds its policy and runs it" >>"$lines"
  fi
  tail -n 1 "$work/sid-consumer.out"
  (tools/sid-root.sh run "$sid_src" sh -c 'cd tests/consumer && bazel shutdown' >/dev/null 2>&1) || true
  # CMake with sid's clang 21 (through iouloop::btf_ir_fix) and gcc 16.
  if timeout -k 10 "$sid_limit" tools/sid-root.sh run "$sid_src" sh -c \
      'b=$1 && cmake -S tests/cmake_consumer -B "$b" -DIOULOOP_SOURCE_DIR="$PWD" && cmake --build "$b" -j 2 && "$b/app"' \
      sh "$work/sid-cmake" >"$work/sid-cmake.out" 2>&1; then
    echo "@@iouloop-test PASS [sid] cmake: tests/cmake_consumer (add_subdirectory) builds its policy with clang 21 and gcc 16, and runs it" >>"$lines"
    # ... and its statically linked BPF-engine program, in the VM.
    tools/vm/run.sh --timeout 300 --program-timeout 120 "$work/sid-cmake/app_bpf_static" >"$work/sid-cmake-vm.out" 2>&1
    cm_rc=$?
    what="tests/cmake_consumer built by the sid toolchain runs its policy on the BPF engine in the VM"
    if grep -q '^cmake consumer (BPF engine): .*: ok$' "$work/sid-cmake-vm.out"; then
      echo "@@iouloop-test PASS [sid] cmake-vm: $what" >>"$lines"
    elif [ "$cm_rc" = 77 ] && [ "${IOULOOP_REQUIRE_VM:-0}" != 1 ]; then
      echo "@@iouloop-test SKIP [sid] cmake-vm: $what ($(grep -m1 'SKIPPED' "$work/sid-cmake-vm.out"))" >>"$lines"
    else
      tail -n 20 "$work/sid-cmake-vm.out"
      echo "@@iouloop-test FAIL [sid] cmake-vm: $what (exit $cm_rc)" >>"$lines"
    fi
  else
    tail -n 30 "$work/sid-cmake.out"
    echo "@@iouloop-test FAIL [sid] cmake: tests/cmake_consumer (add_subdirectory) builds its policy with clang 21 and gcc 16, and runs it" >>"$lines"
  fi
  grep -m1 "btf_ir_fix\|^consumer:" "$work/sid-cmake.out" | sed 's/^/  /'
  # sid's own compilers next to sid's own uapi and liburing headers.
  tools/sid-root.sh run "$sid_src" tests/uapi_headers/check.sh / g++ clang++ >"$work/uapi-sid.out" 2>&1
  sed -n 's/^uapi_headers: \(PASS\|FAIL\) /  [sid] \1 /p' "$work/uapi-sid.out"
  sed -n 's/^uapi_headers: PASS \(.*\)$/@@iouloop-test PASS [sid] uapi-headers: \1/p; s/^uapi_headers: FAIL \(.*\):$/@@iouloop-test FAIL [sid] uapi-headers: \1/p' "$work/uapi-sid.out" >>"$lines"
  grep -q '^uapi_headers: \(PASS\|FAIL\)' "$work/uapi-sid.out" ||
    { tail -n 20 "$work/uapi-sid.out"; echo "@@iouloop-test FAIL [sid] uapi-headers: tests/uapi_headers/check.sh did not run in the sid root" >>"$lines"; }
  echo "== toolchains: VM tests built by the sid toolchain"
  # Every VM test but the fuzzers (their seeds run with the bookworm build;
  # here they would add most of the stage's time for objects the other tests
  # already load and run).
  sid_vm=$(sidb query "${sid_flags[@]}" 'attr(tags, "iouloop_vm", //...) except //tests/fuzz:all' 2>"$work/sid-vm-query.err" | sort)
  if [ -z "$sid_vm" ]; then
    tail -n 20 "$work/sid-vm-query.err"
    echo "@@iouloop-test FAIL [sid] vm-plan: bazel query found no iouloop_vm targets" >>"$lines"
  elif sidb build "${sid_flags[@]}" $sid_vm >"$work/sid-vm-build.out" 2>&1; then
    sid_bin=$sid_root$(sidb info "${sid_flags[@]}" bazel-bin 2>/dev/null)
    sid_bins=()
    for t in $sid_vm; do sid_bins+=("$sid_bin/$(echo "${t#//}" | tr ':' '/')"); done
    vm_pass sid 1800 "${sid_bins[@]}"
  else
    tail -n 30 "$work/sid-vm-build.out"
    echo "@@iouloop-test FAIL [sid] vm-build: the VM test binaries did not build with the sid toolchain" >>"$lines"
  fi
  sidb shutdown >/dev/null 2>&1 || true
  unset IOULOOP_SID_BINDS
fi
echo "== toolchains: $((SECONDS - tc_t0)) s"
fi   # stage 7

# ---- 4. instruction counts: the regression guard ------------------------------
# Guest instructions per operation of the NOP and copy workloads, on every
# engine and their liburing peers, in one VM boot under -icount (deterministic
# guest clock; bench/icount/README.md). Each workload is its own program in
# the VM with its own time limit (a hang is named: "vm: r1-LABEL did not
# finish: ..."); the whole stage has one too. No VM or a missing prerequisite
# (plugin header, liburing source): SKIP, or FAIL under IOULOOP_REQUIRE_VM=1.
# A program of your own is counted too (bench/icount.sh --program, its
# template bench/icount/own_program.cc, which runs nop::policy at depth 8):
# its rows must agree with the workloads they repeat, within 3% (the
# NOP rows' guard tolerance; under 0.8% apart in the runs that added it).
if run_stage icount; then
icount_limit=1800   # a hang guard: the stage takes 1.5-3 min, its VM has its own limit (bench/icount.sh)
own_args=()
if timeout -k 10 600 bazel build -c opt "$@" //bench/icount:own_program >"$work/own_program.out" 2>&1; then
  own=$(bazel info -c opt "$@" bazel-bin 2>/dev/null)/bench/icount/own_program
  own_args=(--program "own-nop-bpf-d8=$own bpf 20000 8" --program "own-nop-user-d8=$own userspace 20000 8"
    --agree own-nop-bpf-d8=nop-bpf-d8:3 --agree own-nop-user-d8=nop-user-d8:3)
else
  tail -n 20 "$work/own_program.out"
  echo "@@iouloop-test FAIL icount: bazel build -c opt //bench/icount:own_program failed: its rows are not counted" >>"$lines"
fi
echo "== instruction counts: bench/icount.sh --profile ci --check bench/icount_baseline.txt ${own_args[*]}"
timeout -k 10 "$icount_limit" bench/icount.sh --profile ci --results "$work/icount" \
  --check bench/icount_baseline.txt ${own_args[@]+"${own_args[@]}"} -- "$@" >"$work/icount.out" 2>&1
icount_rc=$?
grep -v '^@@iouloop-test ' "$work/icount.out"
grep '^@@iouloop-test ' "$work/icount.out" >>"$lines"
case "$icount_rc" in
  0) ;;
  77)
    why=$(grep -m1 '^SKIPPED' "$work/icount.out" | sed 's/^SKIPPED: \(icount: \)\{0,1\}//')
    why=${why:-no reason given}
    if [ "${IOULOOP_REQUIRE_VM:-0}" = 1 ]; then
      echo "@@iouloop-test FAIL icount: IOULOOP_REQUIRE_VM=1 but the instruction counts could not run: $why" >>"$lines"
    else
      echo "@@iouloop-test SKIP icount: $why" >>"$lines"
    fi ;;
  124|137)
    tail -n 5 "$work/icount.out"
    echo "@@iouloop-test FAIL icount: bench/icount.sh did not finish: killed after $icount_limit s (time limit); its last line: $(grep -v '^[[:space:]]*$' "$work/icount.out" | tail -n 1)" >>"$lines" ;;
  *)
    if ! grep -q '^@@iouloop-test FAIL icount' "$work/icount.out"; then
      tail -n 30 "$work/icount.out"
      echo "@@iouloop-test FAIL icount: bench/icount.sh failed (exit $icount_rc): $(grep -v '^[[:space:]]*$' "$work/icount.out" | tail -n 1)" >>"$lines"
    fi ;;
esac
fi   # stage 4

# ---- 6. the kernel module: the policies as native kernel callbacks ---------------
# kernel/kmod/setup-kbuild.sh puts the test kernel's headers and kbuild in the
# sid root of stage 7 (tools/sid-root.sh; gcc-16 is Debian's compiler for that
# kernel); //kernel/kmod:iouloop_kmod (iouloop_kernel_module, which runs
# kernel/kmod/build.sh) builds iouloop_kmod.ko there, with every policy of
# kernel/kmod/native_policies.hpp compiled in. One VM boot insmods it and
# runs kmod_load_test (symbols found, /dev/iouloop, unload, reload),
# kmod_nop_test (attach checks: names, sizes, EBUSY, detach, ring close) and
# kmod_unload_test (unload under a sleeping loop), then the shared case tables
# on kernel_engine (native_semantics/workloads/examples/echo2/proxy_test: every case, and
# differential cases against the BPF engine), and the differential fuzz with
# the native engine as a third ($IOULOOP_KMOD_FUZZ_CASES cases, default 60;
# the seed is printed, with the command that replays a case). A second boot
# loads tests/consumer's module, built in that workspace from its own list,
# and runs its app_native. No root, sid root or VM: SKIP, or FAIL under
# IOULOOP_REQUIRE_VM=1.
if run_stage kmod; then
kmod_t0=$SECONDS
kmod_limit=900
kmod=$work/kmod; mkdir -p "$kmod"
kmod_skip() {
  if [ "${IOULOOP_REQUIRE_VM:-0}" = 1 ]; then
    echo "@@iouloop-test FAIL kmod: IOULOOP_REQUIRE_VM=1 but the module tests could not run: $1" >>"$lines"
  else
    echo "@@iouloop-test SKIP kmod: $1" >>"$lines"
  fi
}
kmod_bins="native_semantics_test native_workloads_test native_examples_test native_echo2_test native_proxy_test"
kmod_fuzz=${IOULOOP_KMOD_FUZZ_CASES:-60}
echo "== kernel module: kernel/kmod/setup-kbuild.sh, bazel build //kernel/kmod:iouloop_kmod, then insmod in the VM"
if [ "$(id -u)" != 0 ]; then
  kmod_skip "building the module needs root (a chroot into the sid root)"
elif ! timeout -k 10 600 kernel/kmod/setup-kbuild.sh >"$kmod/setup.out" 2>&1; then
  tail -n 20 "$kmod/setup.out"
  kmod_skip "no kbuild root for the test kernel (kernel/kmod/setup-kbuild.sh says why above)"
elif ! timeout -k 10 300 bazel build "$@" //kernel/kmod:iouloop_kmod >"$kmod/module.out" 2>&1; then
  tail -n 30 "$kmod/module.out"
  echo "@@iouloop-test FAIL kmod: bazel build //kernel/kmod:iouloop_kmod: the module did not build" >>"$lines"
elif ! { ko=$kmod/iouloop_kmod.ko; cp -f bazel-bin/kernel/kmod/iouloop_kmod.ko "$ko"; }; then
  echo "@@iouloop-test FAIL kmod: no bazel-bin/kernel/kmod/iouloop_kmod.ko after the build" >>"$lines"
elif ! timeout -k 10 600 bazel build "$@" //kernel/kmod:kmod_nop_test_static //tests/fuzz:diff_fuzz_test_static \
    $(for b in $kmod_bins; do echo "//kernel/kmod:${b}_static"; done) >"$kmod/bazel.out" 2>&1; then
  tail -n 30 "$kmod/bazel.out"
  echo "@@iouloop-test FAIL kmod: //kernel/kmod's test programs did not build" >>"$lines"
else
  echo "@@iouloop-test PASS kmod: iouloop_kmod.ko builds for the test kernel with every listed policy" >>"$lines"
  cp -f bazel-bin/kernel/kmod/kmod_nop_test_static "$kmod/kmod_nop_test"
  kmod_run=()
  for b in $kmod_bins; do cp -f "bazel-bin/kernel/kmod/${b}_static" "$kmod/$b"; kmod_run+=("$kmod/$b"); done
  cp -f bazel-bin/tests/fuzz/diff_fuzz_test_static "$kmod/diff_fuzz_test"; kmod_run+=("$kmod/diff_fuzz_test")
  vm_pre=(--program-timeout 240 --module "$ko" --file "$kmod/kmod_nop_test"
    --env IOULOOP_FUZZ_NATIVE=1 --env "IOULOOP_FUZZ_CASES=$kmod_fuzz"
    kernel/kmod/kmod_load_test "$kmod/kmod_nop_test" kernel/kmod/kmod_unload_test)
  vm_pass kmod "$kmod_limit" "${kmod_run[@]}"
  vm_pre=()
  for t in kmod_load_test kmod_nop_test kmod_unload_test; do
    if grep -q "^vm: $t exited 0$" "$work/vm-kmod.out"; then
      echo "@@iouloop-test PASS [kmod] $t" >>"$lines"
    elif [ "$vm_rc" = 77 ]; then
      echo "@@iouloop-test SKIP [kmod] $t: the VM could not run" >>"$lines"
    else
      grep -E "^$t: FAIL|^vm: $t " "$work/vm-kmod.out" | head -n 20
      echo "@@iouloop-test FAIL [kmod] $t: $(grep -m1 -E "^vm: $t " "$work/vm-kmod.out" || echo 'no result from the VM')" >>"$lines"
    fi
  done
  if ! grep -q '^vm: insmod iouloop_kmod.ko rc=0$' "$work/vm-kmod.out" && [ "$vm_rc" != 77 ]; then
    echo "@@iouloop-test FAIL [kmod] insmod: $(grep -m1 '^vm: insmod' "$work/vm-kmod.out" || echo 'no insmod line')" >>"$lines"
  fi
  # A module with a consumer workspace's own list: tests/consumer builds it
  # with @iouloop's iouloop_kernel_module, and its app_native attaches the
  # consumer's policy through kernel_engine, in a VM of its own (the module
  # has the same name as the project's).
  echo "== kernel module: tests/consumer's own list (countdown_kmod, app_native)"
  consumer_case="consumer: a workspace depending on @iouloop builds a module with its own list and runs its policy natively"
  if ! (cd tests/consumer && timeout -k 10 600 bazel build "$@" //:countdown_kmod //:app_native_static) >"$kmod/consumer.out" 2>&1; then
    tail -n 30 "$kmod/consumer.out"
    echo "@@iouloop-test FAIL [kmod] $consumer_case (the build failed)" >>"$lines"
  else
    cp -f tests/consumer/bazel-bin/countdown_kmod.ko tests/consumer/bazel-bin/app_native_static "$kmod/"
    tools/vm/run.sh --timeout 300 --program-timeout 120 --module "$kmod/countdown_kmod.ko" "$kmod/app_native_static" \
      >"$kmod/consumer-vm.out" 2>&1
    consumer_rc=$?
    grep -aE '^(vm:|consumer native:|run.sh)' "$kmod/consumer-vm.out"
    if grep -q '^vm: app_native_static exited 0$' "$kmod/consumer-vm.out"; then
      echo "@@iouloop-test PASS [kmod] $consumer_case" >>"$lines"
    elif [ "$consumer_rc" = 77 ]; then
      kmod_skip "$consumer_case: the VM could not run"
    else
      why=$(grep -m1 -a '^consumer native:' "$kmod/consumer-vm.out" || grep -m1 -a '^vm: app_native_static' "$kmod/consumer-vm.out" ||
        echo 'no result from the VM')
      echo "@@iouloop-test FAIL [kmod] $consumer_case: $why" >>"$lines"
    fi
  fi
  (cd tests/consumer && bazel shutdown >/dev/null 2>&1) || true
fi
echo "== kernel module: $((SECONDS - kmod_t0)) s"
fi   # stage 6

# ---- summary --------------------------------------------------------------------
# Every failure and every skip by name: the log is all that is left of a run.
passed=$(grep -c '^@@iouloop-test PASS ' "$lines" || true)
failed=$(grep -c '^@@iouloop-test FAIL ' "$lines" || true)
skipped=$(grep -c '^@@iouloop-test SKIP ' "$lines" || true)
if [ "$failed" -gt 0 ]; then
  echo "FAILED ($failed test cases):"
  grep '^@@iouloop-test FAIL ' "$lines" | sed 's/^@@iouloop-test FAIL /  /'
fi
if [ "$skipped" -gt 0 ]; then
  echo "SKIPPED ($skipped test cases did not run; they are not counted as passed):"
  grep '^@@iouloop-test SKIP ' "$lines" | sed 's/^@@iouloop-test SKIP /  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
