#!/usr/bin/env bash
# bpf/call_check on two BPF objects: one whose programs still call functions
# libbpf cannot load (the build must stop, each function named, with the
# fix), and the unannotated policies' (every call inlined: exit 0).
set -u
here=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}
tool=${here}bpf/call_check
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
report() { echo "@@iouloop-test $1 call_check_test: $2"; [ "$1" = PASS ] || fail=1; }

"$tool" "${here}tests/inline/refused.bpf.o" --label //tests/inline:refused_bpf --stamp "$tmp/stamp" >"$tmp/out" 2>&1
status=$?
if [ "$status" -eq 1 ] && [ ! -e "$tmp/stamp" ]; then report PASS "calls libbpf cannot load are refused (exit $status)"; else
  cat "$tmp/out"; report FAIL "calls libbpf cannot load are refused (exit $status, want 1 and no stamp)"; fi

while IFS= read -r want; do
  [ -n "$want" ] || continue
  if grep -qF -- "$want" "$tmp/out"; then report PASS "the refusal says: $want"; else
    cat "$tmp/out"; report FAIL "the refusal says: $want"; fi
done <<'WANT'
//tests/inline:refused_bpf: error: the BPF object
BPF program 'noinline' (noinline_step) calls 'void refused::note_completion<iouloop::loop<iouloop::bpf::kfunc_backend, plain::params> >(iouloop::loop<iouloop::bpf::kfunc_backend, plain::params>&)', which was not inlined
BPF program 'recursive' (recursive_step) calls 'refused::calls_for(unsigned int)', which was not inlined: it is recursive
BPF program 'external' (external_step) calls 'defined_elsewhere', which is declared but not defined in this translation unit
__attribute__((noinline)) (remove the attribute)
write it as a loop with a bound known at compile time
define the function in a header the policy includes
WANT
# kfuncs (bpf_io_uring_submit_sqes, bpf_io_uring_get_region) are calls too, and fine
if grep -qF bpf_io_uring "$tmp/out"; then cat "$tmp/out"; report FAIL "kfuncs are not named"; else
  report PASS "kfuncs are not named"; fi

"$tool" "${here}tests/inline/plain_bpf.object.bpf.o" --label //tests/inline:plain_bpf --stamp "$tmp/stamp" >"$tmp/out" 2>&1
status=$?
if [ "$status" -eq 0 ] && [ -s "$tmp/stamp" ] && [ ! -s "$tmp/out" ]; then
  report PASS "policies with no IOULOOP_INLINE leave no call (exit 0)"
else
  cat "$tmp/out"; report FAIL "policies with no IOULOOP_INLINE leave no call (exit $status)"
fi
exit $fail
