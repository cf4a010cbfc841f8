#!/usr/bin/env bash
# iouloop-probe: human output by default, JSON with --json, exit 0 only when
# the BPF engine can run, 2 on bad usage.
set -u
probe=${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE/}tools/probe
[ -x "$probe" ] || probe=bazel-bin/tools/probe
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

text=$("$probe"); text_rc=$?
json=$("$probe" --json); json_rc=$?
"$probe" --bogus >/dev/null 2>&1; bad_rc=$?

check "text names the BPF ops" '[[ "$text" == *"struct io_uring_bpf_ops"* ]]'
check "text ends with the verdict" '[[ "$(echo "$text" | tail -n1)" == "BPF engine: "* ]]'
check "JSON is one object" '[[ "$json" == "{"*"}" ]]'
check "same exit status for both formats" '[ "$text_rc" = "$json_rc" ]'
if [[ "$json" == *'"bpf_engine": true'* ]]; then
  check "exit 0 when the BPF engine can run" '[ "$text_rc" = 0 ]'
else
  check "exit 1 when the BPF engine cannot run" '[ "$text_rc" = 1 ]'
  check "text says why" '[[ "$text" == *"unavailable: "* ]]'
fi
check "exit 2 on bad usage" '[ "$bad_rc" = 2 ]'
[ $fail = 0 ] && echo "@@iouloop-test PASS probe_cli_test: iouloop-probe formats and exit status" ||
  echo "@@iouloop-test FAIL probe_cli_test: iouloop-probe formats and exit status"
exit $fail
