#!/bin/busybox sh
# Runs in the VM (tools/test.sh, stage "kernels"): the command-line tools say
# whether this kernel has io_uring_bpf_ops, by name. Needs /bin/probe_static
# (//tools:probe_static, iouloop-probe), /bin/nop_static
# (//examples/nop:nop_static), /bin/cp_static (//examples/cp:cp_static),
# /bin/proxy_static and /bin/echo2_static, put there with run.sh --file.
# IOULOOP_EXPECT_BPF_OPS=1: the kernel has them (7.1+); 0: it lacks them (7.0, 6.12).
# Prints "@@iouloop-test PASS|FAIL kernel_cli: ..." per check; exit 1 on a failure.
# (Arguments are ignored: run.sh passes Catch2's to every program.)
fail=0
missing="the kernel lacks io_uring_bpf_ops (CONFIG_IO_URING_BPF_OPS, Linux 7.1+"
# check NAME WANT_RC PATTERN CMD...: CMD exits WANT_RC and its output has the fixed string PATTERN.
check() {
  name=$1 want=$2 pattern=$3
  shift 3
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" = "$want" ] && printf '%s\n' "$out" | grep -qF -- "$pattern"; then
    echo "@@iouloop-test PASS kernel_cli: $name"
  else
    printf '%s\n' "$out" | tail -n 15 | sed 's/^/    | /'
    echo "@@iouloop-test FAIL kernel_cli: $name (exit $rc, wanted $want and: $pattern)"
    fail=1
  fi
}
k=$(uname -r)
case "${IOULOOP_EXPECT_BPF_OPS:-}" in
  1)
    check "iouloop-probe: the BPF engine is available (exit 0)" 0 "BPF engine: available" probe_static
    check "iouloop-probe names struct io_uring_bpf_ops" 0 "  yes  struct io_uring_bpf_ops" probe_static
    check "nop --engine bpf runs on the BPF engine" 0 "engine: bpf (kernel $k: requested)" nop_static --engine bpf --total 2000 --depth 8
    check "nop --engine auto picks the BPF engine" 0 "engine: bpf (kernel $k: io_uring_bpf_ops available)" nop_static --total 2000 --depth 8
    check "cp --engine bpf copies and verifies" 0 "output verified byte for byte" cp_static --engine bpf --demo 4 --block 4096 --depth 4
    check "cp --engine bpf --unlinked copies and verifies" 0 "output verified byte for byte" cp_static --engine bpf --unlinked --demo 4 --block 4096 --depth 4
    check "cp --engine bpf --serial copies and verifies" 0 "output verified byte for byte" cp_static --engine bpf --serial --demo 4 --block 4096 --depth 1
    ;;
  0)
    check "iouloop-probe: the BPF engine is unavailable (exit 1), saying why" 1 "BPF engine: unavailable: $missing" probe_static
    check "iouloop-probe names struct io_uring_bpf_ops as missing" 1 "  no   struct io_uring_bpf_ops" probe_static
    check "iouloop-probe --json says io_uring_bpf_ops false" 1 '"io_uring_bpf_ops": false' probe_static --json
    check "nop --engine bpf refuses, naming the missing ops" 1 "nop: the BPF engine cannot run here: $missing" nop_static --engine bpf --total 2000 --depth 8
    check "nop --engine auto falls back to userspace, saying why" 0 "engine: userspace (kernel $k: BPF engine unavailable: $missing" nop_static --total 2000 --depth 8
    check "nop --engine userspace completes its NOPs" 0 "2000 NOPs completed (0 errors)" nop_static --engine userspace --total 2000 --depth 8
    check "cp --unlinked on the userspace engine copies and verifies" 0 "output verified byte for byte" cp_static --unlinked --demo 4 --block 4096 --depth 4
    # The network examples on the userspace engine, with or without the
    # kernel's multishot recv limit (6.17+: 7.0 has it, 6.12 does not).
    check "proxy --selftest on the userspace engine relays and verifies" 0 "bytes relayed both ways and verified byte for byte" proxy_static --selftest 40
    check "echo2 --selftest on the userspace engine echoes and verifies" 0 "bytes echoed and verified byte for byte" echo2_static --selftest 40
    ;;
  *)
    echo "@@iouloop-test FAIL kernel_cli: IOULOOP_EXPECT_BPF_OPS must be 0 or 1 (run.sh --env)"
    exit 1
    ;;
esac
exit $fail
