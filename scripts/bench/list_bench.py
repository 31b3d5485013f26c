#!/usr/bin/env python3
"""Times `taskreaper list` over N-bundle trees (driver of scripts/bench/list.sh)."""
import datetime, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(os.environ.get("ROUNDS", "5"))
BASE = os.environ.get("BENCH_DIR", "/var/tmp/taskreaper-bench-list")
DROP = os.environ.get("DROP_CACHES", "1") == "1" and os.geteuid() == 0
KEEP = os.environ.get("KEEP", "0") == "1"
BIN = os.environ["BIN"]
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def timed_rusage(cmd):
    """wall, exit code, user and sys CPU of cmd with its output discarded (counted lines kept)."""
    t0 = time.monotonic_ns()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=null)
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: p.stdout.read(1 << 16), b""))
        _, status, ru = os.wait4(p.pid, 0)
    wall = (time.monotonic_ns() - t0) / 1e9
    return {"wall": wall, "code": os.waitstatus_to_exitcode(status), "user": ru.ru_utime, "sys": ru.ru_stime,
            "lines": lines}


def snapshot(root):
    return benchlib.out("sh", "-c", f"find '{root}' -printf '%P %s %T@\\n' | LC_ALL=C sort | sha256sum").split()[0]


def main():
    started = datetime.datetime.now(datetime.timezone.utc)
    benchlib.fresh_bench_dir(BASE, ".taskreaper-bench-list")
    fs = benchlib.try_out("findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", BASE)
    live = subprocess.Popen(["setsid", "sleep", "3600"], stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with open(f"/proc/{live.pid}/comm") as f:
                    if f.read().strip() == "sleep" and os.getpgid(live.pid) == live.pid:
                        break
            except OSError:
                pass
            time.sleep(0.02)
        trees = {"live": os.path.join(BASE, "live"), "delivered": os.path.join(BASE, "delivered")}
        benchlib.make_tree(trees["live"], N, max(1, N // 20), "live", live.pid)
        benchlib.make_tree(trees["delivered"], N, max(1, N // 20), "delivered")
        commands = {
            "taskreaper list --all (table)": lambda r: [BIN, "list", "--all", "--root", r],
            "taskreaper list --all --json": lambda r: [BIN, "list", "--all", "--json", "--root", r],
            "find -name '*.json' -exec cat {} + (read every JSON)": lambda r: ["find", r, "-name", "*.json", "-exec", "cat", "{}", "+"],
        }
        results = {}
        modes = [("warm", False)] + ([("cold (caches dropped)", True)] if DROP else [])
        for kind, root in trees.items():
            before = snapshot(root)
            for mode, drop in modes:
                for name, cmd in commands.items():
                    timed_rusage(cmd(root))  # untimed warm-up / check
                    runs = []
                    for _ in range(ROUNDS):
                        benchlib.settle(0.3, 0.5, 30, drop_caches=drop)
                        run = timed_rusage(cmd(root))
                        if run["code"] != 0:
                            raise SystemExit(f"{name} on {root} exited {run['code']}")
                        if name.startswith("taskreaper"):
                            expected = N + (0 if "json" in name else 1)
                            if run["lines"] != expected:
                                raise SystemExit(f"{name} printed {run['lines']} lines, expected {expected}")
                        runs.append(run)
                    results[(kind, mode, name)] = runs
            if snapshot(root) != before:
                raise SystemExit(f"{root} changed during the benchmark")
        finished = datetime.datetime.now(datetime.timezone.utc)
        lines = ["# `taskreaper list` benchmark", ""] + benchlib.report_head(
            os.environ.get("BENCH_CMDLINE", "scripts/bench/list.sh"), started, finished, benchlib.cpu_model(), BASE, fs)
        lines += [f"Binary: `{BIN}` (release)  ", f"Trees: {N} bundles each, {max(1, N // 20)} sessions, 4 files per bundle "
                  "(scripts/bench/make-tree.py): `live` = running tasks of one real `setsid sleep` (every task probed: "
                  "kill(0) and /proc), `delivered` = terminal, all due for removal. Each tree checked unchanged "
                  "(names, sizes, mtimes) after all its runs; every list run checked to print one line per task.", ""]
        for kind in trees:
            for mode, _ in modes:
                lines += [f"## {kind} tree, {mode}", "",
                          "| what | wall per run (s) | median (s) | µs per bundle | median user+sys CPU (s) |",
                          "|---|---|---|---|---|"]
                for name in commands:
                    runs = results[(kind, mode, name)]
                    med = statistics.median(r["wall"] for r in runs)
                    cpu = statistics.median(r["user"] + r["sys"] for r in runs)
                    walls = ", ".join(f"{r['wall']:.3f}" for r in runs)
                    lines.append(f"| {name} | {walls} | {med:.3f} | "
                                 f"{med / N * 1e6:.0f} | {cpu:.3f} |")
                lines.append("")
        lines += ["Method: wall time is `time.monotonic_ns()` around fork/exec/wait4 with stdout read by the driver "
                  "(lines counted, discarded); CPU from wait4's rusage. Before each timed run: sync, caches dropped "
                  "for the cold rows, and a wait until the machine is quiet (< 0.5 busy cores).", ""]
        report = "\n".join(lines)
        print(report)
        benchlib.write_report(report, REPO, "list", started)
    finally:
        live.kill()
        live.wait()
        if not KEEP:
            import shutil
            shutil.rmtree(BASE, ignore_errors=True)


if __name__ == "__main__":
    main()
