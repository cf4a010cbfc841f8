#!/usr/bin/env bash
# bpf/btf_layout on two layout probes: one whose params hold pointers (the
# build must stop, each pointer named, with the fix), and the NOP example's
# (handles generated, exit 0).
set -u
here=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}
tool=${here}bpf/btf_layout
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
report() { echo "@@iouloop-test $1 btf_layout_test: $2"; [ "$1" = PASS ] || fail=1; }

"$tool" "${here}tests/layout/pointer_probe.bpf.o" --namespace pointer_bpf --label //tests/layout:pointer_bpf \
  --out "$tmp/pointer.inc" >"$tmp/out" 2>&1
status=$?
if [ "$status" -ne 0 ]; then report PASS "params with pointers are refused (exit $status)"; else
  cat "$tmp/out"; report FAIL "params with pointers are refused (it exited 0)"; fi

while IFS= read -r want; do
  [ -n "$want" ] || continue
  if grep -qF -- "$want" "$tmp/out"; then report PASS "the refusal says: $want"; else
    cat "$tmp/out"; report FAIL "the refusal says: $want"; fi
done <<'WANT'
//tests/layout:pointer_bpf: error: BPF program 'with_pointer': its params_type (struct params) holds pointers:
member 'buffer' is a pointer: u8 *buffer
member 'items[].name' is a pointer: const char *name
member 'on_done' is a pointer: void (*on_done)(
store one as an iouloop::uaddr
loop.user_addr(field)
WANT
for fine in count items[].len addr buffer_addr; do
  if grep -qF "member '$fine'" "$tmp/out"; then cat "$tmp/out"; report FAIL "'$fine' (no pointer) is not named"; else
    report PASS "'$fine' (no pointer) is not named"; fi
done

"$tool" "${here}examples/nop/nop_bpf.probe.bpf.o" --namespace nop_bpf --label //examples/nop:nop_bpf \
  --out "$tmp/nop.inc" >"$tmp/out" 2>&1
status=$?
if [ "$status" -eq 0 ] && grep -qF 'struct nop {' "$tmp/nop.inc" && grep -qF 'struct nop_by_hand {' "$tmp/nop.inc" &&
  grep -qF '__builtin_offsetof(T0, completed) == 12' "$tmp/nop.inc" && grep -qF 'sizeof(T0) == 20' "$tmp/nop.inc"; then
  report PASS "a params type without pointers gets its handles and checks"
else
  cat "$tmp/out" "$tmp/nop.inc"; report FAIL "a params type without pointers gets its handles and checks (exit $status)"
fi
exit $fail
