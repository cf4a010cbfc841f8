#!/usr/bin/env bash
# bench/percore.sh: does a second loop (echo2 --threads 2, one ring per
# thread on one SO_REUSEPORT port) carry more than one? Wall-clock rates of
# echo2's selftest (C clients from one client thread, 3 requests each, every
# byte checked), 1 and 2 loops in turn, R rounds:
#   - in the VM (the 7.2 test kernel, 2 vCPUs on two host threads: run.sh
#     --mttcg), on the BPF and the userspace engine: TCG time, labelled so;
#   - on this host, on the userspace engine (this kernel has no BPF loop ops).
# The client thread runs on the same CPUs as the loops, so with 2 CPUs one
# loop and the client already keep both busy: read the table with that in
# mind (docs/echo2.md, "One loop per thread").
#
#   bench/percore.sh [--clients C] [--rounds R] [--no-vm] [--no-host]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
clients=400 rounds=3 vm=1 host=1
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) clients=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-vm) vm=0; shift ;;
    --no-host) host=0; shift ;;
    *) echo "percore.sh: unknown option $1 (see the header)" >&2; exit 2 ;;
  esac
done
[[ "$clients" =~ ^[1-9][0-9]*$ && "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "percore.sh: --clients and --rounds want positive numbers" >&2; exit 2; }
bazel build -c opt //examples/echo2:echo2 //examples/echo2:echo2_static >/dev/null
work=$(mktemp -d /tmp/iouloop-percore.XXXXXX)
trap 'rm -rf "$work"' EXIT

# "RUN where engine loops seconds" lines, from echo2's "all loops:"/single summary line
runs=$work/runs
: >"$runs"
if [ $host = 1 ]; then
  for r in $(seq "$rounds"); do
    for t in 1 2; do
      s=$(bazel-bin/examples/echo2/echo2 --engine userspace --threads $t --selftest "$clients" | sed -n 's/^\(all loops: \)\{0,1\}accepted .* bytes in \([0-9.]*\) s$/\2/p')
      echo "RUN host userspace $t $s" >>"$runs"
    done
  done
fi
if [ $vm = 1 ]; then
  cat >"$work/percore-guest" <<GUEST
#!/bin/sh
for r in \$(seq $rounds); do
  for e in bpf userspace; do
    for t in 1 2; do
      s=\$(/bin/echo2_static --engine \$e --threads \$t --selftest $clients | sed -n 's/^\(all loops: \)\{0,1\}accepted .* bytes in \([0-9.]*\) s\$/\2/p')
      echo "RUN vm \$e \$t \$s"
    done
  done
done
GUEST
  chmod +x "$work/percore-guest"
  tools/vm/run.sh --mttcg --timeout 900 --file bazel-bin/examples/echo2/echo2_static "$work/percore-guest" | grep '^RUN ' >>"$runs" || true
fi
echo "echo2 --selftest $clients (3 requests per client, every byte checked), $rounds rounds; clients per second, wall clock"
echo "(vm: QEMU TCG, 2 vCPUs on 2 host threads: TCG time, not a real machine's)"
printf '%-6s %-10s %14s %14s %8s\n' where engine "1 loop" "2 loops" "2 / 1"
awk -v c="$clients" '
  $1 == "RUN" && $5 != "" { k = $2 " " $3; sum[k, $4] += c / $5; n[k, $4]++; keys[k] = 1 }
  END {
    for (k in keys) {
      split(k, w, " ")
      a = n[k, 1] ? sum[k, 1] / n[k, 1] : 0; b = n[k, 2] ? sum[k, 2] / n[k, 2] : 0
      printf "%-6s %-10s %14.0f %14.0f %8s\n", w[1], w[2], a, b, (a ? sprintf("%.2f", b / a) : "-")
    }
  }' "$runs" | sort
echo "(each figure: the mean over the rounds of clients / the selftest's seconds)"
