#!/usr/bin/env bash
# The main demo: copy a file with the cp policy on the best engine this
# machine has (it says which), then, if the test kernel is available, the
# same program inside the VM, where the kernel runs the policy as an
# io_uring_bpf_ops program.
#
#   tools/demo.sh [MIB]        (as root on a fresh machine: it runs the set-up)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mib=${1:-256}
if [ "${IOULOOP_SKIP_SETUP:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then tools/setup.sh; else echo "demo: not root: skipping tools/setup.sh" >&2; fi
fi
bazel build -c opt //examples/cp:cp //examples/cp:cp_static
bin=$(bazel info -c opt bazel-bin)/examples/cp

echo
echo "== this machine"
"$bin/cp" --demo "$mib"

echo
echo "== a kernel with io_uring_bpf_ops, under QEMU (TCG: slower than the machine itself)"
set +e
tools/vm/run.sh --timeout 600 --args "--demo $(( mib < 64 ? mib : 64 ))" "$bin/cp_static"
rc=$?
set -e
[ $rc = 77 ] && echo "(the VM part was skipped; the copy above is the demo)"
[ $rc = 0 ] || [ $rc = 77 ]
