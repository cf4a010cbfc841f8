#!/usr/bin/env bash
# bench/percore.sh: does a second loop (echo2 --threads 2, one ring per
# thread on one SO_REUSEPORT port) carry more than one? Requests per second,
# 1 and 2 loops in turn, R rounds, on the BPF and the userspace engine.
#
#   bench/percore.sh [--load host|guest] [--rounds R] [--no-vm] [--no-host]
#                    [--connections N] [--bytes B] [--depth D] [--seconds S]  (--load host)
#                    [--clients C]                                 (--load guest)
#
# --load host (the default): echo2 serves in the VM (the 7.2 test kernel, 2
#   vCPUs on two host threads: run.sh --mttcg) on a virtio-net card on a tap
#   device (run.sh --tap: needs root), and bench/net/loadgen runs on this
#   host: N connections (64), B-byte requests (16384), D in flight on each
#   (1: ping-pong), S seconds (10) per figure, every byte checked. The load costs the VM nothing, so
#   the guest's two vCPUs are the server's. Also printed for each figure: how
#   busy the guest's CPUs were (from its /proc/stat) and the host CPU time of
#   each vCPU thread. Without root or /dev/net/tun it says SKIPPED and exits
#   77. The "host" row: the same pair on this machine over loopback (userspace
#   engine; this kernel has no BPF loop ops), where the load shares the CPUs.
# --load guest: echo2's own selftest (C clients, 400, from one thread in the
#   same VM, 3 requests each): the client shares the two vCPUs with the
#   loops, so one loop and the client already keep both busy.
# All figures are wall-clock rates under QEMU TCG (the "host" row aside):
# TCG time, not a real machine's (docs/echo2.md, "One loop per thread").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
load=host rounds=3 vm=1 host=1 clients=400 conns=64 bytes=16384 depth=1 seconds=10
while [ $# -gt 0 ]; do
  case "$1" in
    --load) load=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --depth) depth=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-vm) vm=0; shift ;;
    --no-host) host=0; shift ;;
    *) echo "percore.sh: unknown option $1 (see the header)" >&2; exit 2 ;;
  esac
done
case "$load" in host | guest) ;; *) echo "percore.sh: --load wants host or guest, not '$load'" >&2; exit 2 ;; esac
for v in "$clients" "$rounds" "$conns" "$bytes" "$depth" "$seconds"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "percore.sh: --clients, --rounds, --connections, --bytes, --depth and --seconds want positive whole numbers, not '$v'" >&2; exit 2; }
done
[ "$bytes" -le 65536 ] || { echo "percore.sh: --bytes: 1 .. 65536" >&2; exit 2; }
[ "$conns" -le 1000 ] || { echo "percore.sh: --connections: 1 .. 1000 (echo2's table)" >&2; exit 2; }
if [ "$load" = host ] && [ $vm = 1 ]; then
  if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
    echo "SKIPPED: percore --load host: the VM's tap device needs root and /dev/net/tun (or use --load guest)"; exit 77
  fi
fi
bazel build -c opt //examples/echo2:echo2 //examples/echo2:echo2_static //bench/net:loadgen >/dev/null
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
work=$(mktemp -d /tmp/iouloop-percore.XXXXXX)
vmpid=""
trap '[ -n "$vmpid" ] && kill "$vmpid" 2>/dev/null; rm -rf "$work"' EXIT

# "RUN where engine loops rate [note]" lines; rate in requests (or clients) per second
runs=$work/runs
: >"$runs"
fail() { echo "percore.sh: $*" >&2; exit 1; }
# rate_of LOADGEN-OUTPUT: its requests per second
rate_of() { sed -n 's/.* failures in [0-9.]* s (\([0-9]*\) requests\/s.*/\1/p' <<<"$1"; }

if [ "$load" = host ]; then
  unit="requests per second ($conns connections, $bytes-byte requests, $depth in flight on each, ${seconds} s each; every byte checked)"
  if [ $host = 1 ]; then
    for r in $(seq "$rounds"); do
      for t in 1 2; do
        p=$(shuf -i 20000-32000 -n 1)
        out=$(timeout $((seconds + 120)) "$bin/bench/net/loadgen" --port "$p" --connections "$conns" --bytes "$bytes" --depth "$depth" --seconds "$seconds" \
              -- "$bin/examples/echo2/echo2" --engine userspace --threads $t --port "$p" --clients "$conns" 2>&1) ||
          fail "round $r, host, $t loops: $(tail -n 3 <<<"$out")"
        echo "RUN host userspace $t $(rate_of "$out")" >>"$runs"
      done
    done
  fi
  if [ $vm = 1 ]; then
    netmods=$(tools/vm/fetch-kernel.sh --net-modules)
    steps=""
    for r in $(seq "$rounds"); do for e in bpf userspace; do for t in 1 2; do steps="$steps $r:$e:$t"; done; done; done
    {
      echo '#!/bin/sh'
      # One receive queue: RPS and RFS spread its packets over both vCPUs,
      # to the one whose loop reads the connection.
      echo 'echo 3 >/sys/class/net/eth0/queues/rx-0/rps_cpus'
      echo 'echo 32768 >/proc/sys/net/core/rps_sock_flow_entries; echo 32768 >/sys/class/net/eth0/queues/rx-0/rps_flow_cnt'
      echo 'busy() { awk '"'"'/^cpu[0-9]/ { b = $2 + $3 + $4 + $7 + $8; printf "%s=%d/%d ", $1, b, b + $5 + $6 }'"'"' /proc/stat; }'
      for s in $steps; do
        IFS=: read -r r e t <<<"$s"
        cat <<STEP
/bin/echo2_static --engine $e --threads $t --address 0.0.0.0 --port 7000 --clients $conns >/tmp/out 2>&1 &
pid=\$! n=0
while ! grep -q '^listening' /tmp/out && [ \$n -lt 600 ]; do sleep 0.1; n=\$((n + 1)); done
echo "@@percore ready $s \$(busy)"
wait \$pid
echo "@@percore end $s rc=\$? \$(busy)"
grep -E '^(echo2|engine)' /tmp/out || true
STEP
      done
    } >"$work/percore-guest"
    chmod +x "$work/percore-guest"
    console=$work/console
    tools/vm/run.sh --mttcg --tap --timeout $((300 + rounds * 4 * (seconds + 60))) --console "$console" \
      --qemu-arg -name --qemu-arg debug-threads=on \
      --module "$netmods/failover.ko" --module "$netmods/net_failover.ko" --module "$netmods/virtio_net.ko" \
      --file "$bin/examples/echo2/echo2_static" "$work/percore-guest" >"$work/vm.out" 2>&1 &
    vmpid=$!
    # vcpu_secs: "CPU 0/TCG=S CPU 1/TCG=S" host CPU seconds of QEMU's vCPU threads
    vcpu_secs() {
      local q d
      q=$(pgrep -f "file:$console" | head -n1 || true)
      [ -n "$q" ] || return 0
      for d in "/proc/$q/task/"*; do
        case "$(cat "$d/comm" 2>/dev/null)" in "CPU "*) echo "$(tr ' ' _ <"$d/comm")=$(awk '{print $14 + $15}' "$d/stat")" ;; esac
      done | tr '\n' ' '
    }
    for s in $steps; do
      IFS=: read -r r e t <<<"$s"
      waited=0
      until grep -aq "^@@percore ready $s " "$console" 2>/dev/null; do
        kill -0 "$vmpid" 2>/dev/null || fail "the VM ended before step $s (round:engine:loops) was ready: $(tail -n 5 "$work/vm.out")"
        [ $waited -lt 600 ] || fail "step $s (round:engine:loops) not ready after 300 s"
        sleep 0.5; waited=$((waited + 1))
      done
      v0=$(vcpu_secs)
      out=$(timeout $((seconds + 120)) "$bin/bench/net/loadgen" --address 10.0.3.2 --port 7000 --connections "$conns" \
            --bytes "$bytes" --depth "$depth" --seconds "$seconds" 2>&1) || fail "step $s (round:engine:loops): $(tail -n 3 <<<"$out")"
      v1=$(vcpu_secs)
      waited=0
      until grep -aq "^@@percore end $s " "$console" 2>/dev/null; do
        kill -0 "$vmpid" 2>/dev/null || fail "the VM ended before the server of step $s stopped"
        [ $waited -lt 240 ] || fail "the server of step $s did not stop after its $conns clients (120 s)"
        sleep 0.5; waited=$((waited + 1))
      done
      g=$(tr -d '\r' <"$console" | grep -a -E "^@@percore (ready|end) $s ")
      grep -q "rc=0 " <<<"$(grep 'end' <<<"$g")" || fail "echo2 in the VM, step $s: $(grep end <<<"$g")"
      # guest busy %: both CPUs, from ready to end; host seconds per vCPU thread while the load ran
      note=$(awk -v v0="$v0" -v v1="$v1" '
        { for (i = 4; i <= NF; i++) if ($i ~ /^cpu[0-9]+=/ && split($i, kv, "=") == 2) { split(kv[2], bt, "/"); b[NR, kv[1]] = bt[1]; tt[NR, kv[1]] = bt[2]; cpus[kv[1]] = 1 } }
        END {
          out = "guest busy"
          for (i = 0; ("cpu" i) in cpus; i++) {
            c = "cpu" i; d = tt[2, c] - tt[1, c]
            out = out sprintf(" %s %.0f%%", c, d > 0 ? 100 * (b[2, c] - b[1, c]) / d : 0)
          }
          n0 = split(v0, a0, " "); n1 = split(v1, a1, " ")
          if (n0 == 0 || n0 != n1) { print out "; vCPU threads: not read (QEMU had ended)"; exit }
          out = out "; vCPU threads"
          for (i = 1; i <= n0; i++) { split(a0[i], x, "="); split(a1[i], y, "="); out = out sprintf(" %.1f", (y[2] - x[2]) / 100) }
          print out " s"
        }' <<<"$g")
      echo "RUN vm $e $t $(rate_of "$out") $note" >>"$runs"
      echo "percore: round $r, $e, $t loop(s): $(rate_of "$out") requests/s; $note" >&2
    done
    wait "$vmpid" || fail "the VM run failed: $(tail -n 5 "$work/vm.out")"
    vmpid=""
  fi
else
  unit="clients per second (echo2 --selftest $clients: 3 requests per client, every byte checked)"
  if [ $host = 1 ]; then
    for r in $(seq "$rounds"); do
      for t in 1 2; do
        s=$("$bin/examples/echo2/echo2" --engine userspace --threads $t --selftest "$clients" | sed -n 's/^\(all loops: \)\{0,1\}accepted .* bytes in \([0-9.]*\) s$/\2/p')
        echo "RUN host userspace $t $(awk -v c="$clients" -v s="$s" 'BEGIN { printf "%.0f", c / s }')" >>"$runs"
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
      echo "RUN vm \$e \$t \$(awk -v c=$clients -v s=\$s 'BEGIN { printf "%.0f", c / s }')"
    done
  done
done
GUEST
    chmod +x "$work/percore-guest"
    tools/vm/run.sh --mttcg --timeout 900 --file "$bin/examples/echo2/echo2_static" "$work/percore-guest" | grep '^RUN ' >>"$runs" || true
  fi
fi
echo "echo2, 1 and 2 loops, $rounds rounds: $unit, wall clock"
echo "(vm: QEMU TCG, 2 vCPUs on 2 host threads: TCG time, not a real machine's)"
printf '%-6s %-10s %10s %10s %8s\n' where engine "1 loop" "2 loops" "2 / 1"
awk '
  $1 == "RUN" && $5 != "" { k = $2 " " $3; sum[k, $4] += $5; n[k, $4]++; keys[k] = 1 }
  END {
    for (k in keys) {
      split(k, w, " ")
      a = n[k, 1] ? sum[k, 1] / n[k, 1] : 0; b = n[k, 2] ? sum[k, 2] / n[k, 2] : 0
      printf "%-6s %-10s %10.0f %10.0f %8s\n", w[1], w[2], a, b, (a ? sprintf("%.2f", b / a) : "-")
    }
  }' "$runs" | sort
echo "(each figure: the mean over the rounds)"
if [ "$load" = host ] && [ $vm = 1 ]; then
  echo "each VM figure (round engine loops rate; guest CPU busy from the server's start to its end; host CPU seconds of each vCPU thread during the load):"
  grep '^RUN vm' "$runs" | cut -d' ' -f3- | sed 's/^/  /'
fi
