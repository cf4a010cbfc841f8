#!/usr/bin/env bash
# Builds that are expected to fail: each CASE_* in cases.cc must be refused
# with its diagnostic, and the control (no CASE_*) must compile.
set -u
here=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}
src=${here}tests/compile_fail/cases.cc
inc=${here}include
cxx=${CXX:-/usr/bin/g++}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
report() { echo "@@iouloop-test $1 compile_fail_test: $2"; [ "$1" = PASS ] || fail=1; }

# The generated tests/compile_fail/layout_bpf.bpf.h is found from the runfiles root.
# LC_ALL=C: plain quotes in the diagnostics, whatever the caller's locale.
compile() { LC_ALL=C "$cxx" -std=c++20 -fsyntax-only -I"$inc" -I"${here:-.}" "$@" "$src" >"$tmp/out" 2>&1; }

if compile; then report PASS "the control compiles"; else
  cat "$tmp/out"; report FAIL "the control compiles"; fi

while IFS='|' read -r case want; do
  [ -n "$case" ] || continue
  if compile -D"$case"; then
    report FAIL "$case is refused (it compiled)"
  elif grep -qF -- "$want" "$tmp/out"; then
    report PASS "$case is refused: $want"
  else
    head -n 20 "$tmp/out"
    report FAIL "$case is refused with \"$want\""
  fi
done <<'CASES'
CASE_PARAMS_TOO_LARGE|params_type is larger than its param region
CASE_PARAMS_TOO_LARGE_FOR_DECLARED_REGION|params_type is larger than its param region
CASE_PARAMS_NOT_SHAREABLE|params_type must be trivially copyable and standard layout
CASE_REGION_NOT_PAGES|param_region_bytes must be a non-zero multiple of the page size
CASE_USER_DATA_TOO_WIDE|tag bits + payload bits exceed the 64 bits
CASE_USER_DATA_SIGNED_PAYLOAD|the payload must be an unsigned integer or an enum
CASE_STEP_NOT_INT|constraints not satisfied
CASE_LAYOUT_SWAPPED|BPF program 'pair' (//tests/compile_fail:layout_bpf) was compiled with: member 'a' is at byte 0 there
CASE_LAYOUT_MISSING|member 'b' (byte 4, 4 bytes there) is missing here
CASE_LAYOUT_MEMBER_SIZE|member 'b' is 4 bytes there
CASE_LAYOUT_SIZE|params_type differs from the one BPF program 'pair' (//tests/compile_fail:layout_bpf) was compiled with: it is 40 bytes there
CASE_UDATA_FROM_NUMBER|user_data is an iouloop::udata, not a number: make it with your user_data<Tag, Payload>::make(tag, payload) codec
CASE_UADDR_FROM_NUMBER|a user address is an iouloop::uaddr, not a number: take one with loop.user_addr(field)
CASE_UADDR_FROM_POINTER|a C++ pointer is not a user address
CASE_OFFSET_AND_USER_DATA_SWAPPED|no known conversion for argument 5 from 'iouloop::udata' to 'iouloop::u64'
CASE_ACCEPT_ADDRLEN_BY_VALUE|a user address is an iouloop::uaddr, not a number
CASE_USER_ADDR_OF_TEMPORARY|loop.user_addr(field): this is a temporary, not a field of the params
CASE_USER_ADDR_OF_POINTER|loop.user_addr(field): pass the field itself
CASE_RESERVE_NOTHING|reserve<N>: a chain holds at least one SQE
CASE_BUF_RING_NOT_POWER_OF_TWO|buf_ring<Entries>: Entries must be a power of two
CASE_BUF_RING_TOO_LARGE|buf_ring<Entries>: at most 32768 entries
CASE_BUF_RING_REGION_TOO_SMALL|a params_type holding a buf_ring is a whole number of pages
CASE_BUFFER_GROUP_FROM_NUMBER|a buffer group is an iouloop::buf_group, not a number
CASE_BUFFER_GROUP_AND_FLAGS_SWAPPED|no known conversion for argument 4 from 'iouloop::buf_group' to 'iouloop::u32'
CASE_BUFFER_SELECT_NUMBER|a buffer group is an iouloop::buf_group, not a number
CASE_FIXED_FD_FROM_NUMBER|a fixed file is an iouloop::fixed_fd (a slot in the ring's file table), not a number
CASE_FIXED_FD_AS_FD|cannot convert 'iouloop::fixed_fd' to 'iouloop::s32'
CASE_FIXED_FD_ACCEPT_AS_FD|cannot convert 'iouloop::fixed_fd' to 'const iouloop::s32'
CASE_BOUNDED_ARRAY_NOT_POWER_OF_TWO|bounded_array<T, N>: N must be a power of two
CASE_REAP_NOT_A_HANDLER|cqe_handler<Handler>
CASE_DISPATCH_WRONG_TAG_TYPE|dispatch_case<
CASE_DISPATCH_TWO_OTHERWISE|at most one otherwise<H> case
CASE_PREPARE_NOT_A_PRODUCER|producer<Producer>
CASE_STOP_WHEN_NOT_A_PREDICATE|predicate<Pred>
CASE_PARAMS_ONLY_PREDICATE_READS_RING|params_only_view<iouloop::detail::archetype_params>' has no member named 'cq'
CASE_SEQUENCE_NOT_A_STAGE|stage<
CASE_DRAIN_IS_GONE|drain<H, Batch> is now reap<H, Batch>
CASE_LAYOUT_NESTED|member 'io[0].len' is at byte 8 there
CASE_LAYOUT_REGION|the BPF program was compiled for a param region of another size
CASE_KERNEL_ENGINE_BPF_HANDLE|kernel_engine runs the policy compiled into iouloop_kmod.ko, not a BPF program
CASE_KERNEL_ENGINE_NOT_LISTED|kernel_engine<P>: P is not in iouloop_kmod.ko's list: add it to kernel/kmod/native_policies.hpp
CASE_RING_VARIANT_SQ_NOT_POWER_OF_TWO|a ring's SQ entries are a power of two, 1 to 32768
CASE_RING_VARIANT_CQ_BELOW_SQ|a ring's CQ entries are a power of two, at least its SQ entries
CASES

# C++17: the first header says what it needs, before anything else fails.
if LC_ALL=C "$cxx" -std=c++17 -fsyntax-only -I"$inc" -I"${here:-.}" "$src" >"$tmp/out" 2>&1; then
  report FAIL "C++17 is refused (it compiled)"
elif head -n 5 "$tmp/out" | grep -qF "iouloop needs C++20: compile with -std=c++20"; then
  report PASS "C++17 is refused first: iouloop needs C++20"
else
  head -n 20 "$tmp/out"
  report FAIL "C++17 is refused first with \"iouloop needs C++20\""
fi
exit $fail
