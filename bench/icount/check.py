#!/usr/bin/env python3
"""check.py: the instruction-count regression guard.

    check.py [--vm-out FILE]... [--environment "k=v ..."] BASELINE RUNS_JSON [LABEL...]
    check.py --update "REASON" [--environment "k=v ..."] BASELINE RUNS_JSON [LABEL...]
    check.py --agree RUNS_JSON A=B[:TOL]...

Compares the mean total instructions per operation of each workload in
RUNS_JSON (bench/icount.sh's runs.json) with BASELINE
(bench/icount_baseline.txt) and prints one line per workload in the test
suite's format:

    @@iouloop-test PASS icount: nop-bpf-d1: 748.6 instructions/op, baseline 748.6 (+0.00%, tolerance +3%)
    @@iouloop-test FAIL icount: nop-bpf-d1: 781.0 instructions/op, baseline 748.6 (+4.33%, over the +3% tolerance) ...

A count that grows by more than its tolerance fails; one that falls by more
passes, with a note to lower the baseline. LABELs are the workloads that were
meant to run (default: all of the baseline's): one without a result fails,
with run.sh's "vm: r1-LABEL ..." line from the --vm-out files (which says
why); one without a baseline is SKIP. A program that failed after its region
(a copy that differs) fails too.

The environment. The counts depend on the guest kernel, QEMU and liburing
as much as on iouloop, and tools/setup.sh takes the newest sid kernel. When
--environment differs from the baseline's, absolute counts are not
comparable: each iouloop row is then checked relative to its peer in the same
boot (the hand-written liburing loop doing the same work; the io_uring core
they share cancels out), against the same ratio in the baseline, with the same
tolerance; rows without a peer are SKIP. Re-baseline on the new environment.

--update rewrites BASELINE with the counts of RUNS_JSON (for the LABELs, or
all of the baseline's) and the environment, keeps the header, tolerances and
peers, and appends REASON with the commit to its history: do it in the same
commit as the change that moves the counts.

--agree checks that row A's total per operation is within TOL% (default 2)
of row B's, above or below, in the same RUNS_JSON: a program of your own
(bench/icount.sh --program) against the workload it repeats. A row that did
not run fails.
"""
import json
import re
import subprocess
import sys
import time


class Row:
    def __init__(self, total, user, kernel, tol, peer):
        self.total, self.user, self.kernel, self.tol, self.peer = total, user, kernel, tol, peer


def read_baseline(path):
    header, history, rows, tol, env = [], [], {}, None, ""
    for line in open(path):
        s = line.rstrip("\n")
        if s.startswith("# history:") or (history and s.startswith("#   ")):
            history.append(s)
        elif s.startswith("#") or not s.strip():
            if not rows and tol is None and not env and not history:
                header.append(s)
        else:
            f = s.split()
            if f[0] == "tolerance_pct":
                tol = float(f[1])
            elif f[0] == "environment":
                env = " ".join(f[1:])
            else:
                t = float(f[4]) if len(f) > 4 and f[4] != "-" else None
                peer = f[5] if len(f) > 5 and f[5] != "-" else None
                rows[f[0]] = Row(float(f[1]), float(f[2]), float(f[3]), t, peer)
    if tol is None:
        sys.exit(f"check.py: {path} has no 'tolerance_pct N' line")
    for r in rows.values():
        r.tol = tol if r.tol is None else r.tol
    return header, history, tol, rows, env


def mean(xs):
    return sum(xs) / len(xs)


def measured(runs_json):
    rows = json.load(open(runs_json))
    return {label: (mean([r["total"] for r in runs]), mean([r["user"] for r in runs]),
                    mean([r["kernel"] for r in runs]), runs)
            for label, runs in rows.items()}


def update(reason, path, runs_json, labels, env):
    header, history, tol, rows, old_env = read_baseline(path)
    now = measured(runs_json)
    for label in labels or list(rows):
        if label in now:
            t, u, k, _ = now[label]
            old = rows.get(label)
            rows[label] = Row(t, u, k, old.tol if old else tol, old.peer if old else None)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except Exception:
        commit = "unknown"
    history = history or ["# history:"]
    history.append(f"#   {time.strftime('%Y-%m-%d')} (measured at {commit}; {env or old_env}): {reason}")
    with open(path, "w") as f:
        f.write("\n".join(header).rstrip("\n") + "\n")
        f.write("\n".join(history) + "\n\n")
        f.write(f"environment {env or old_env}\n")
        f.write(f"tolerance_pct {tol:g}\n")
        f.write(f"# {'workload':<24} {'total':>10} {'user':>9} {'kernel':>10} {'tol%':>5}  peer\n")
        for label, r in rows.items():
            f.write(f"{label:<26} {r.total:10.1f} {r.user:9.1f} {r.kernel:10.1f} {r.tol:5g}  {r.peer or '-'}\n")
    print(f"check.py: {path} updated ({len(rows)} workloads)")
    return 0


def vm_lines(vm_outs):
    for f in vm_outs:
        for line in open(f, errors="replace"):
            m = re.match(r"^vm: (\S+) (.*)$", line.rstrip())
            if m and m.group(2) != "exited 0" and m.group(1) != "kernel":
                yield m.group(1), m.group(2)


def check(path, runs_json, labels, vm_outs, env):
    _, _, tol, base, base_env = read_baseline(path)
    now = measured(runs_json)
    labels = labels or list(base)
    relative = bool(env and base_env and env != base_env)
    print(f"instructions per op against {path} (total, mean of the runs; tolerance +{tol:g}% unless stated):")
    if relative:
        print(f"  the environment differs from the baseline's:\n    now      {env}\n    baseline {base_env}\n"
              f"  so each iouloop row is compared relative to its liburing peer in this boot; re-baseline "
              f"(bench/icount/check.py --update) on this environment")
    print(f"  {'workload':<26} {'baseline':>10} {'now':>10} {'change':>8}  runs")
    lines, failed = [], 0
    for label in labels:
        b = base.get(label)
        if label not in now:
            why = "; ".join(f"{n} {w}" for n, w in vm_lines(vm_outs) if re.sub(r"^r\d+-", "", n) == label)
            lines.append(f"@@iouloop-test FAIL icount: {label}: no result from the VM: "
                         f"{why or 'no region line (see the VM output above)'}")
            failed += 1
            print(f"  {label:<26} {b.total if b else float('nan'):10.1f} {'-':>10}")
            continue
        t, _, _, runs = now[label]
        per_run = "/".join(f"{r['total']:.1f}" for r in runs)
        if b is None:
            lines.append(f"@@iouloop-test SKIP icount: {label}: {t:.1f} instructions/op, no baseline "
                         f"(add it: bench/icount/check.py --update)")
            print(f"  {label:<26} {'-':>10} {t:10.1f} {'':>8}  {per_run}")
            continue
        d = (t - b.total) / b.total * 100
        print(f"  {label:<26} {b.total:10.1f} {t:10.1f} {d:+7.2f}%  {per_run}")
        if relative:
            if not b.peer or b.peer not in now or b.peer not in base:
                lines.append(f"@@iouloop-test SKIP icount: {label}: {t:.1f} instructions/op, not compared: "
                             f"the environment differs from the baseline's and it has no peer in this boot")
                continue
            r_now, r_base = t / now[b.peer][0], b.total / base[b.peer].total
            d = (r_now - r_base) / r_base * 100
            what = (f"{label}: {r_now:.3f}x {b.peer} in this boot, baseline {r_base:.3f}x ({d:+.2f}%; "
                    f"{t:.1f} instructions/op; environment differs from the baseline's")
        else:
            what = f"{label}: {t:.1f} instructions/op, baseline {b.total:.1f} ({d:+.2f}%"
        if d > b.tol:
            failed += 1
            lines.append(f"@@iouloop-test FAIL icount: {what}, over the +{b.tol:g}% tolerance); if the change is "
                         f"meant, update bench/icount_baseline.txt in the same commit, with the reason "
                         f"(bench/icount/check.py --update \"REASON\" ...)")
        elif d < -b.tol:
            lines.append(f"@@iouloop-test PASS icount: {what}: fewer by more than the tolerance, lower the "
                         f"baseline so that the guard stays tight)")
        else:
            lines.append(f"@@iouloop-test PASS icount: {what}, tolerance +{b.tol:g}%)")
    # A program that failed after printing its region (a copy that differs,
    # say), or one that is no workload (the set-up): named too.
    missing = {label for label in labels if label not in now}
    for name, why in vm_lines(vm_outs):
        if re.sub(r"^r\d+-", "", name) not in missing:
            failed += 1
            lines.append(f"@@iouloop-test FAIL icount: {name} {why}")
    print("\n".join(lines))
    return 1 if failed else 0


def agree(runs_json, specs):
    now = measured(runs_json)
    lines, failed = [], 0
    for spec in specs:
        m = re.fullmatch(r"([A-Za-z0-9._-]+)=([A-Za-z0-9._-]+)(?::([0-9]+(?:\.[0-9]+)?))?", spec)
        if not m:
            lines.append(f"@@iouloop-test FAIL icount: --agree {spec}: give A=B or A=B:TOL")
            failed += 1
            continue
        a, b, tol = m.group(1), m.group(2), float(m.group(3) or 2)
        gone = list(dict.fromkeys(x for x in (a, b) if x not in now))  # A=A names it once
        if gone:
            lines.append(f"@@iouloop-test FAIL icount: {a} agrees with {b}: no result for {' and '.join(gone)} "
                         f"(see the VM output above)")
            failed += 1
            continue
        ta, tb = now[a][0], now[b][0]
        d = (ta - tb) / tb * 100
        ok = abs(d) <= tol
        failed += not ok
        lines.append(f"@@iouloop-test {'PASS' if ok else 'FAIL'} icount: {a} agrees with {b}: {ta:.1f} against "
                     f"{tb:.1f} instructions/op ({d:+.2f}%, {'within' if ok else 'beyond'} {tol:g}%)")
    print("\n".join(lines))
    return 1 if failed else 0


def main(argv):
    if argv and argv[0] == "--agree":
        if len(argv) < 3:
            sys.exit(__doc__)
        return agree(argv[1], argv[2:])
    reason = None
    if argv and argv[0] == "--update":
        if len(argv) < 2:
            sys.exit(__doc__)
        reason, argv = argv[1], argv[2:]
    vm_outs, env = [], ""
    while len(argv) >= 2 and argv[0] in ("--vm-out", "--environment"):
        if argv[0] == "--vm-out":
            vm_outs.append(argv[1])
        else:
            env = argv[1]
        argv = argv[2:]
    if len(argv) < 2:
        sys.exit(__doc__)
    if reason is not None:
        return update(reason, argv[0], argv[1], argv[2:], env)
    return check(argv[0], argv[1], argv[2:], vm_outs, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
