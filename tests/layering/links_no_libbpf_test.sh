#!/usr/bin/env bash
# A program built on //:userspace alone runs, and carries no libbpf code.
set -u
bin=$1
out=$("$bin" 2>&1); rc=$?
echo "$out"
if [ $rc != 0 ]; then echo "@@iouloop-test FAIL layering: the userspace-only program failed (exit $rc)"; exit 1; fi
if nm -C "$bin" 2>/dev/null | grep -q ' T bpf_object__open'; then
  echo "@@iouloop-test FAIL layering: a program on //:userspace links libbpf (bpf_object__open is in it)"; exit 1
fi
echo "@@iouloop-test PASS layering: a program on //:userspace alone runs and links no libbpf"
