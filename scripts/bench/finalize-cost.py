#!/usr/bin/env python3
"""What a checked replace costs: one sweep finalizing N tasks, this binary against another.

usage: finalize-cost.py [--tasks N] [--rounds R] [--binary B] --old-binary B [--dir DIR] [--report]

Each round builds two identical trees of N running tasks whose process is gone, each with a
marker `0` (so every task is finalized, completed), and times `sweep --finalize-grace 0s` of
each binary on its copy, the order alternating between rounds. Both must finalize all N.
The exchange (issue 11.2) adds a rename, an exchange, an open and a read per finalization to
the old create, write, fsync, re-read, rename; the fsync dominates on a disk.
Medians of the wall and CPU time per binary; with --report, bench-results/finalize-cost-<date>.md.
"""
import argparse, os, resource, statistics, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fault"))
import faultlib  # noqa: E402


def tree(root, tasks):
    pid = faultlib.gone_pid()
    started = faultlib.now_ms() - 60_000
    per = 20
    for k in range(0, tasks, per):
        session = faultlib.session_dir(root, f"{k // per:016x}")
        for i in range(k, min(k + per, tasks)):
            faultlib.write(os.path.join(session, f"bgb-{i:08x}.exit"), "0", age_s=3600)
            faultlib.write(os.path.join(session, f"bgb-{i:08x}.json"),
                           faultlib.task_json(f"bgb-{i:08x}", "running", started, child_pid=pid, pgid=pid))


def timed(binary, root):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = faultlib.run(binary, "sweep", "--root", root, "--json", "--finalize-grace", "0s", "--log-target", "stderr")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = sum(l["counts"].get("finalize", 0) for l in faultlib.json_lines(p.stdout) if l.get("action") == "summary")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--binary")
    ap.add_argument("--old-binary", required=True)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    started = faultlib.utcnow()
    binaries = {"new": faultlib.binary(a.binary), "old": os.path.abspath(a.old_binary)}
    runs = {name: [] for name in binaries}
    with faultlib.scratch_dir("taskreaper-cost-", a.dir) as base:
        for r in range(a.rounds):
            order = list(binaries) if r % 2 == 0 else list(reversed(binaries))
            for name in order:
                root = os.path.join(base, name)
                subprocess.run(["rm", "-rf", root])
                os.makedirs(root)
                tree(root, a.tasks)
                os.sync()
                wall, cpu, done = timed(binaries[name], root)
                if done != a.tasks:
                    raise SystemExit(f"{name} finalized {done} of {a.tasks}")
                runs[name].append((wall, cpu))
                print(f"round {r + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    med = {n: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for n, v in runs.items()}
    lines = ["| binary | wall (median) | CPU (median) | per finalization |", "|---|---|---|---|"]
    for n, (w, c) in med.items():
        lines.append(f"| {n} | {w:.2f} s | {c:.2f} s | {w / a.tasks * 1e6:.0f} µs wall, {c / a.tasks * 1e6:.0f} µs CPU |")
    lines.append(f"| new / old | {med['new'][0] / med['old'][0]:.2f}× | {med['new'][1] / med['old'][1]:.2f}× | |")
    print("\n".join(lines))
    if a.report:
        fs = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", a.dir], capture_output=True, text=True).stdout.strip()
        body = [f"{a.tasks} finalizations per sweep, {a.rounds} rounds, order alternating; `{a.dir}` ({fs}).",
                f"new: {binaries['new']}; old: {binaries['old']}", ""] + lines
        faultlib.write_report("finalize-cost", "What the checked replace costs (issue 11.2)",
                              "scripts/bench/finalize-cost.py " + " ".join(sys.argv[1:]), started, body)


if __name__ == "__main__":
    main()
