#!/usr/bin/env python3
"""`watch --events inotify` against `watch --events fanotify` on the same trees, in the same run
(issue #14, goal 3): first pass, RSS, inotify watches and fanotify marks, idle CPU, marker latency
(quiet, and while a writer churns files elsewhere on the same file system), and the CPU that
unrelated activity on the file system costs the watcher.

usage: fanotify_bench.py  (env: BIN=.build/release/taskreaper, SESSIONS=10000, BUNDLES=100000,
       DIR_TASKS=10000, TASKS=200, IDLE_SECONDS=10, CHURN=100000, ROUNDS=3,
       BENCH_DIR=/var/tmp/taskreaper-fanotify-bench)
Run as root (fanotify file system marks need CAP_SYS_ADMIN). See scripts/bench/fanotify.sh.
"""
import datetime, json, os, shutil, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import watch_bench as wb  # noqa: E402

BASE = os.environ.get("BENCH_DIR", "/var/tmp/taskreaper-fanotify-bench")
SESSIONS = int(os.environ.get("SESSIONS", "10000"))
BUNDLES = int(os.environ.get("BUNDLES", "100000"))
DIR_TASKS = int(os.environ.get("DIR_TASKS", "10000"))
TASKS = int(os.environ.get("TASKS", "200"))
IDLE = int(os.environ.get("IDLE_SECONDS", "10"))
CHURN = int(os.environ.get("CHURN", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
MODES = ("inotify", "fanotify")
MARKER = ".taskreaper-fanotify-bench"


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat: finer than clock ticks)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def status(sock):
    run = subprocess.run([wb.BIN, "ctl", "--socket", sock, "--timeout", "30s", "status"], capture_output=True, text=True)
    return json.loads(run.stdout)


class Churn:
    """A writer elsewhere on the same file system: create, write, close, unlink, `ops` times
    (as a build or a package manager does), in its own process."""

    def __init__(self, directory, ops):
        os.makedirs(directory, exist_ok=True)
        code = ("import os,sys\nd,n=sys.argv[1],int(sys.argv[2])\nfor i in range(n):\n"
                " p=f'{d}/f{i % 1000}'\n fd=os.open(p,os.O_WRONLY|os.O_CREAT|os.O_TRUNC,0o644)\n"
                " os.write(fd,b'x')\n os.close(fd)\n os.unlink(p)\n")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", code, directory, str(ops)])

    def wait(self):
        self.proc.wait()
        return time.monotonic() - self.started


def marker_latency(root, session_name, live_pid):
    """TASKS live task directories in a new session of the loaded tree; each marker written in
    place into io/exit (only the io/ watch sees it) -> finalized record, beyond the grace."""
    session = os.path.join(root, "opencode/bash-tasks", session_name)
    os.makedirs(session)
    dirs = [wb.task_directory(session, i, live_pid, wb.now_ms()) for i in range(TASKS)]
    time.sleep(1)  # the watcher sees them alive and watches their io/ (what is measured is the marker)
    lat = []
    for t in dirs:
        with open(os.path.join(t, "io", "exit"), "r+") as f:
            f.write("0")
        record = os.path.join(t, "control", "metadata.json")
        assert wb.wait_status(record, ("completed",)), t
        lat.append((os.stat(record).st_mtime_ns - os.stat(os.path.join(t, "io", "exit")).st_mtime_ns) / 1e6 - wb.GRACE_MS)
    shutil.rmtree(session)
    return lat


def measure(root, mode, live_pid, elsewhere, latency=True):
    """One watcher over root: its start, idle, marker latency (quiet, under churn), churn cost."""
    sock = root + f".{mode}.ctl"
    w = wb.Watch(root, "--events", mode, "--control-socket", sock, "--finalize-grace", f"{wb.GRACE_MS}ms",
                 "--rescan-interval", "infinity")
    r = {"first_pass": w.ready_after, "rss": w.rss_kib(), "watches": benchlib.fdinfo_count(w.proc.pid, "inotify", "inotify wd:"),
         "marks": benchlib.fdinfo_count(w.proc.pid, "fanotify", "fanotify sdev:")}
    try:
        s = status(sock)
        r["watched"], r["events"] = s["watched_directories"], s["events"]
        time.sleep(1)
        t0, b0, i0 = w.cpu_ticks(), benchlib.machine_busy(), s["fanotify_events_ignored"]
        time.sleep(IDLE)
        r["idle_ticks"], r["idle_busy"] = w.cpu_ticks() - t0, (benchlib.machine_busy() - b0) / IDLE
        r["idle_ignored"] = status(sock)["fanotify_events_ignored"] - i0
        if latency:
            r["lat"] = marker_latency(root, "fffffffffffff000", live_pid)
            churn = Churn(elsewhere, CHURN * 10)  # outlasts the measure; stopped after it
            r["lat_churn"] = marker_latency(root, "fffffffffffff001", live_pid)
            churn.proc.kill()
            churn.proc.wait()
        time.sleep(1)
        c0, i0 = cpu_ns(w.proc.pid), status(sock)["fanotify_events_ignored"]
        churn = Churn(elsewhere, CHURN)
        r["churn_wall"] = churn.wait()
        time.sleep(1)  # what is queued is read
        r["churn_cpu_ms"] = (cpu_ns(w.proc.pid) - c0) / 1e6
        r["ignored"] = status(sock)["fanotify_events_ignored"] - i0
    finally:
        w.stop()
    return r


def first_passes(root):
    """Start to READY=1, wall time and the watcher's CPU time (steadier on a loaded machine),
    ROUNDS times per mode, the order alternating (a loaded machine drifts)."""
    times = {m: [] for m in MODES}
    for k in range(ROUNDS):
        for mode in (MODES if k % 2 == 0 else MODES[::-1]):
            w = wb.Watch(root, "--events", mode, "--control-socket", root + f".{mode}.ctl", "--rescan-interval", "infinity")
            times[mode].append((w.ready_after, w.cpu_ticks() / wb.TICKS))  # exited worker threads included
            w.stop()
    return times


def compare(root, live_pid, elsewhere, latency):
    """Both modes over the same tree: first passes (median of ROUNDS), then one full measure each."""
    times = first_passes(root)
    results = {m: measure(root, m, live_pid, elsewhere, latency) for m in MODES}
    for mode in MODES:
        results[mode]["first_pass"] = statistics.median(t for t, _ in times[mode])
        results[mode]["first_pass_cpu"] = statistics.median(c for _, c in times[mode])
        results[mode]["first_passes"] = times[mode]
    return results


def with_tree(root, layout, bundles, sessions, body):
    live = subprocess.Popen(["setsid", "sleep", "3600"])
    try:
        benchlib.make_tree(root, bundles, sessions, "live", live_pid=live.pid, layout=layout)
        return body(live.pid)
    finally:
        live.kill()
        live.wait()
        shutil.rmtree(root, ignore_errors=True)


def ratio(a, b):
    return f"{b / a:.2f}" if a else "–"


def main():
    started = datetime.datetime.now(datetime.timezone.utc)
    benchlib.fresh_bench_dir(BASE, MARKER)
    elsewhere = os.path.join(BASE, "elsewhere")
    flat = with_tree(os.path.join(BASE, "flat"), "flat", BUNDLES, SESSIONS,
                     lambda pid: compare(os.path.join(BASE, "flat"), pid, elsewhere, latency=True))
    dirs = with_tree(os.path.join(BASE, "dirs"), "directory", DIR_TASKS, max(1, DIR_TASKS // 10),
                     lambda pid: compare(os.path.join(BASE, "dirs"), pid, elsewhere, latency=False))
    finished = datetime.datetime.now(datetime.timezone.utc)
    fs = benchlib.try_out("stat", "-f", "-c", "%T", BASE)
    i, f = flat["inotify"], flat["fanotify"]
    di, df = dirs["inotify"], dirs["fanotify"]

    def lat(r, key):
        return f"p50 {wb.pct(r[key], 50):.1f} ms, p99 {wb.pct(r[key], 99):.1f} ms"

    def first(r):
        return (f"{r['first_pass']:.2f} s ({', '.join(f'{t:.2f}' for t, _ in r['first_passes'])}); "
                f"CPU {r['first_pass_cpu']:.2f} s ({', '.join(f'{c:.2f}' for _, c in r['first_passes'])})")

    def idle(r):
        return f"{r['idle_ticks']}; {r['idle_ignored']} events dropped; {r['idle_busy']:.2f} cores"

    def per10k(r):
        return f"{r['churn_cpu_ms'] * 10_000 / CHURN:.1f} ms CPU per 10 000 file ops" + (
            f" ({r['churn_cpu_ms'] * 10_000 / r['ignored']:.1f} ms per 10 000 events dropped, {r['ignored']} events)"
            if r["ignored"] else "")

    rows = [
        (f"{SESSIONS} sessions / {BUNDLES} live bundles: first pass, wall and CPU, median of {ROUNDS} (each)", first(i), first(f),
         f"wall {ratio(i['first_pass'], f['first_pass'])}, CPU {ratio(i['first_pass_cpu'], f['first_pass_cpu'])}"),
        ("  RSS", f"{i['rss'] / 1024:.1f} MiB", f"{f['rss'] / 1024:.1f} MiB", ratio(i["rss"], f["rss"])),
        ("  directories watched; inotify watches; fanotify marks", f"{i['watched']}; {i['watches']}; {i['marks']}",
         f"{f['watched']}; {f['watches']}; {f['marks']}", ""),
        (f"  idle {IDLE} s: CPU ticks (1/{wb.TICKS} s); other directories' events dropped; the machine's load",
         idle(i), idle(f), ""),
        (f"  marker in place into io/exit -> finalized beyond the {wb.GRACE_MS} ms grace, {TASKS} tasks",
         lat(i, "lat"), lat(f, "lat"), ""),
        ("  the same while a writer churns files elsewhere on the file system", lat(i, "lat_churn"), lat(f, "lat_churn"), ""),
        (f"  a writer elsewhere on the file system: {CHURN} create+write+close+unlink", per10k(i), per10k(f),
         ratio(i["churn_cpu_ms"], f["churn_cpu_ms"])),
        (f"{DIR_TASKS} live task directories in {max(1, DIR_TASKS // 10)} sessions: first pass, wall and CPU, median of {ROUNDS} (each)",
         first(di), first(df), f"wall {ratio(di['first_pass'], df['first_pass'])}, CPU {ratio(di['first_pass_cpu'], df['first_pass_cpu'])}"),
        ("  RSS", f"{di['rss'] / 1024:.1f} MiB", f"{df['rss'] / 1024:.1f} MiB", ratio(di["rss"], df["rss"])),
        ("  directories watched; inotify watches; fanotify marks", f"{di['watched']}; {di['watches']}; {di['marks']}",
         f"{df['watched']}; {df['watches']}; {df['marks']}", ""),
        (f"  idle {IDLE} s: CPU ticks; events dropped; the machine's load", idle(di), idle(df), ""),
        (f"  a writer elsewhere: {CHURN} file ops", per10k(di), per10k(df), ratio(di["churn_cpu_ms"], df["churn_cpu_ms"])),
    ]
    lines = ["# watch: inotify against fanotify on the same trees", ""]
    lines += benchlib.report_head("scripts/bench/fanotify.sh", started, finished, benchlib.cpu_model(), BASE, fs)
    lines += ["", "| measure | `--events inotify` | `--events fanotify` | fanotify / inotify |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    benchlib.write_report(report, os.getcwd(), "fanotify", started)
    shutil.rmtree(BASE, ignore_errors=True)


if __name__ == "__main__":
    main()
