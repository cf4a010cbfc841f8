#!/usr/bin/env bash
# Builds bench/bpf_bench (optimised, static) and runs it in the VM on a kernel
# with io_uring_bpf_ops. Pass the NOP count as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //bench:bpf_bench
exec tools/vm/run.sh --timeout 1200 --args "${1:-200000}" "$(bazel info -c opt bazel-bin)/bench/bpf_bench"
