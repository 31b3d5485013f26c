#!/usr/bin/env python3
"""Benchmarks of `taskreaper watch` (issue #3), each against a peer or target in the same run.

usage: watch_bench.py  (env: BIN=.build/release/taskreaper, TASKS=200, SESSIONS=10000,
       BUNDLES=100000, BURST=10000, DIR_TASKS=10000, IDLE_SECONDS=60,
       BENCH_DIR=/var/tmp/taskreaper-watch-bench,
       BIG=1 to add the 100 000-session scale (issue #14), BIG_ONLY=1 for that scale alone,
       BIG_SESSIONS=100000, BIG_BUNDLES=250000, BIG_IDLE_SECONDS=10, LOAD_RATE=1000,
       FLOOD=20000, FLOOD_QUEUE=128, BIG_TREE=DIR to make the big tree there once and reuse it,
       BIG_PEER_BIN=PATH[:PATH...] to measure other binaries on the same tree, interleaved, BIG_ROUNDS=1,
       BIG_FIRST_PASS_ONLY=1 with BIG_PEER_BIN for the first pass's numbers alone)
See scripts/bench/watch.sh, the one command that builds and runs this.

The big scale (BIG=1, ~10 minutes on 2 cores, 1 000 000 files on the bench dir's file system):
BIG_SESSIONS sessions holding BIG_BUNDLES live flat bundles (4 files each: 250 000 bundles are
1 000 000 files, 2 or 3 bundles a session), one live process standing for every task.
  - first pass (start -> READY=1), RSS after it and its peak (VmHWM), inotify watches;
  - idle: CPU ticks over BIG_IDLE_SECONDS with nothing happening;
  - marker latency under load: while a writer process rewrites one task JSON of a different
    session LOAD_RATE times a second (as the harness does: temp file + rename; the content
    stays "running", so each rewrite is one session looked at and nothing to do), TASKS tasks
    in one more session end through their wrapper (marker rename, then exit): marker ->
    finalized JSON beyond the grace, p50/p99; the watcher's CPU and the rate achieved;
  - BIG_TREE=DIR keeps the tree (and the live process its tasks name) after the run and reuses
    it when DIR/.made says it has this shape and that process still lives: the ~3 minutes of
    making it are spent once (the sessions the measures add are removed before each run);
  - BIG_PEER_BIN=PATH (e.g. main's binary; several separated by ':'): every measure above is
    taken for each and for BIN, alternately (peer, BIN, peer, BIN... BIG_ROUNDS times), one row
    each, on the same tree; also the first pass's CPU and marker latency without the writer.
    BIG_FIRST_PASS_ONLY=1: the first pass (wall, CPU, RSS, peak, anonymous RSS, watches) and
    the idle ticks alone, ~1 minute a run (for a change's memory, step by step);
  - overflow recovery: a second watcher started with fs.inotify.max_queued_events lowered to
    FLOOD_QUEUE (restored afterwards; the limit is read when an inotify instance is made); a
    flood of FLOOD JSON rewrites across the sessions overflows its queue, and a marker written
    into a live task's session after the overflow (its process stays alive: only the event, or
    the rescan the overflow starts, can tell) is finalized: time from that marker, and from
    the end of the flood, to the finalized JSON; the log must say the overflow started a rescan.
"""
import datetime, json, os, platform, shutil, socket, statistics, subprocess, sys, threading, time

BIN = os.path.abspath(os.environ.get("BIN", ".build/release/taskreaper"))
BASE = os.environ.get("BENCH_DIR", "/var/tmp/taskreaper-watch-bench")
TASKS = int(os.environ.get("TASKS", "200"))
SESSIONS = int(os.environ.get("SESSIONS", "10000"))
BUNDLES = int(os.environ.get("BUNDLES", "100000"))
BURST = int(os.environ.get("BURST", "10000"))
DIR_TASKS = int(os.environ.get("DIR_TASKS", "10000"))
IDLE = int(os.environ.get("IDLE_SECONDS", "60"))
HERE = os.path.dirname(os.path.abspath(__file__))
GRACE_MS = 100
TICKS = os.sysconf("SC_CLK_TCK")


class Watch:
    """taskreaper watch as a child, with a notify socket to know when its first pass is done."""

    def __init__(self, root, *flags, log=None, binary=None):
        self.sock_path = root + ".notify"
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([binary or BIN, "watch", "--root", root, "--log-target", "stderr", *flags],
                                     env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(log, "w") if log else subprocess.DEVNULL)
        self.ready_after = None
        self.sock.settimeout(600)
        while True:
            msg = self.sock.recv(4096).decode()
            if "READY=1" in msg:
                self.ready_after = time.monotonic() - self.started
                break
        # Keep reading, as systemd does: a notify socket nobody reads blocks sd_notify.
        self.sock.settimeout(None)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            while self.sock.recv(4096):
                pass
        except OSError:
            pass

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)

    def switches(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        return int(status["voluntary_ctxt_switches"]) + int(status["nonvoluntary_ctxt_switches"])

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])

    def peak_rss_kib(self):
        return self.rss_kib("VmHWM")

    def inotify_watches(self):
        count = 0
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                if "inotify" in os.readlink(f"/proc/{self.proc.pid}/fd/{fd}"):
                    with open(f"/proc/{self.proc.pid}/fdinfo/{fd}") as f:
                        count += sum(1 for line in f if line.startswith("inotify wd:"))
            except OSError:
                pass
        return count

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.sock.close()
        os.unlink(self.sock_path)


def now_ms():
    return time.time_ns() // 1_000_000


def write_json(path, doc):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp.1.x")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
    os.rename(tmp, path)


def task_doc(tid, pid, started, status="running", delivered=False):
    return {"schema_version": 4, "task_id": tid, "session_id": "ses_bench", "command": "bench", "mode": "pipes",
            "workdir": "/tmp", "project_root": None, "status": status, "started_at": started,
            "finished_at": None, "duration_ms": None, "timeout_ms": None, "exit_code": None,
            "child_pid": pid, "pgid": pid, "completion_delivered": delivered, "notify_on_completion": True,
            "compressed": True, "pty_rows": None, "pty_cols": None, "status_reason": None}


def spawn_wrapper(session, tid, command):
    marker = os.path.join(session, tid + ".exit")
    wrapper = f"{command}\ncode=$?\nprintf %s \"$code\" > '{marker}.tmp.'$$ && mv '{marker}.tmp.'$$ '{marker}'"
    return subprocess.Popen(["/bin/sh", "-c", wrapper], start_new_session=True)


def wait_status(path, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                if json.load(f)["status"] in wanted:
                    return True
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    return False


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def task_directory(session, n, pid, started):
    """A running task directory of the current harness (schema 7), io/exit empty."""
    tid = f"bash-{n:016x}"
    t = os.path.join(session, tid)
    for sub in ("control", "io"):
        os.makedirs(os.path.join(t, sub), mode=0o700)
    for name in ("io/stdout", "io/stderr", "io/exit", "io/sandbox-unavailable", "control/command.sh"):
        open(os.path.join(t, name), "w").close()
    doc = dict(task_doc(tid, pid, started), schema_version=7, timeout_ms=1_800_000)
    write_json(os.path.join(t, "control", "metadata.json"), doc)
    return t


def latency_in_place(root):
    """A marker written in place into io/exit of a task directory whose process stays alive
    (as the harness's PTY waiter or a wrapper writes it): only the io/ watch can see it.
    Marker write -> finalized record, beyond the grace."""
    session = os.path.join(root, "opencode/bash-tasks/00000000000000bb")
    os.makedirs(session)
    live = subprocess.Popen(["setsid", "sleep", "3600"])
    w = Watch(root, "--finalize-grace", f"{GRACE_MS}ms")
    lat = []
    try:
        time.sleep(0.2)
        dirs = [task_directory(session, i, live.pid, now_ms()) for i in range(TASKS)]
        time.sleep(0.5)  # the watcher sees them alive and watches their io/ (what is measured is the marker)
        for t in dirs:
            with open(os.path.join(t, "io", "exit"), "r+") as f:  # in place: same inode, no rename
                f.write("0")
            record = os.path.join(t, "control", "metadata.json")
            assert wait_status(record, ("completed",)), t
            lat.append((os.stat(record).st_mtime_ns - os.stat(os.path.join(t, "io", "exit")).st_mtime_ns) / 1e6 - GRACE_MS)
    finally:
        w.stop()
        live.kill()
        live.wait()
    return lat


def directory_budget(root, live_pid):
    """Watches and RSS for DIR_TASKS live task directories (control/ and io/ watched each)."""
    subprocess.run([sys.executable, os.path.join(HERE, "make-tree.py"), root, "--bundles", str(DIR_TASKS),
                    "--sessions", str(max(1, DIR_TASKS // 10)), "--kind", "live", "--live-pid", str(live_pid),
                    "--layout", "directory"], check=True)
    w = Watch(root)
    try:
        return w.ready_after, w.rss_kib(), w.inotify_watches()
    finally:
        w.stop()


def latency(root):
    """Marker rename -> finalized JSON, beyond the grace; SIGKILL -> finalized JSON."""
    session = os.path.join(root, "opencode/bash-tasks/00000000000000aa")
    os.makedirs(session)
    w = Watch(root, "--finalize-grace", f"{GRACE_MS}ms")
    marker_lat, death_lat = [], []
    try:
        batch = 20
        for start in range(0, TASKS, batch):
            procs = []
            for i in range(start, min(TASKS, start + batch)):
                tid = f"bgb-{i:08x}"
                p = spawn_wrapper(session, tid, "sleep 0.3")
                write_json(os.path.join(session, tid + ".json"), task_doc(tid, p.pid, now_ms()))
                procs.append((tid, p))
            for tid, p in procs:
                p.wait()
                assert wait_status(os.path.join(session, tid + ".json"), ("completed",)), tid
                marker = os.stat(os.path.join(session, tid + ".exit")).st_mtime_ns
                finalized = os.stat(os.path.join(session, tid + ".json")).st_mtime_ns
                marker_lat.append((finalized - marker) / 1e6 - GRACE_MS)
        for i in range(min(50, TASKS)):
            tid = f"bgb-dead{i:04x}"
            p = spawn_wrapper(session, tid, "sleep 60")
            path = os.path.join(session, tid + ".json")
            write_json(path, task_doc(tid, p.pid, now_ms()))
            time.sleep(0.05)  # let the watcher see it alive and take its pidfd (what is measured is the death)
            killed = time.time_ns()
            os.killpg(p.pid, 9)
            assert wait_status(path, ("failed",)), tid
            death_lat.append((os.stat(path).st_mtime_ns - killed) / 1e6)
            p.wait()
    finally:
        w.stop()
    return marker_lat, death_lat


def idle(root):
    """CPU ticks and context switches while nothing happens; peer: inotifywait on the same tree."""
    w = Watch(root)
    peer = subprocess.Popen(["inotifywait", "-m", "-r", "-q", root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    try:
        t0, s0 = w.cpu_ticks(), w.switches()
        with open(f"/proc/{peer.pid}/stat") as f:
            p0 = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
        time.sleep(IDLE)
        t1, s1 = w.cpu_ticks(), w.switches()
        with open(f"/proc/{peer.pid}/stat") as f:
            p1 = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    finally:
        peer.terminate()
        peer.wait()
        w.stop()
    return t1 - t0, s1 - s0, p1 - p0


def scale(root, live_pid):
    """RSS and watches with SESSIONS sessions / BUNDLES live bundles."""
    subprocess.run([sys.executable, os.path.join(HERE, "make-tree.py"), root, "--bundles", str(BUNDLES),
                    "--sessions", str(SESSIONS), "--kind", "live", "--live-pid", str(live_pid)], check=True)
    w = Watch(root)
    try:
        return w.ready_after, w.rss_kib(), w.inotify_watches()
    finally:
        w.stop()


def burst(root):
    """BURST bundles become removable at once: time from the deadline to all gone, vs sweep."""
    retention_s = 3
    make = [sys.executable, os.path.join(HERE, "make-tree.py"), root, "--bundles", str(BURST), "--kind", "delivered"]
    subprocess.run(make, check=True)
    # Make every JSON due `lead` seconds from now (mtime = now - retention + lead).
    lead = 20

    def age_all(r):
        due = time.time() + lead
        t = due - retention_s
        for dirpath, _, files in os.walk(r):
            for name in files:
                os.utime(os.path.join(dirpath, name), (t, t))
        return due

    copy = root + "-sweep"
    subprocess.run(["cp", "-a", root, copy], check=True)
    due = age_all(root)
    w = Watch(root, "--retention", f"{retention_s}s")
    try:
        while time.time() < due:
            time.sleep(0.01)
        while any(files for _, _, files in os.walk(root)):
            time.sleep(0.01)
        watch_s = time.time() - due
    finally:
        w.stop()
    age_all(copy)
    time.sleep(lead + 0.1)
    start = time.monotonic()
    subprocess.run([BIN, "sweep", "--root", copy, "--retention", f"{retention_s}s", "--log-target", "stderr"],
                   stderr=subprocess.DEVNULL, check=True)
    sweep_s = time.monotonic() - start
    left = sum(len(files) for _, _, files in os.walk(copy))
    return watch_s, sweep_s, left


def with_live_process(measure, root):
    """measure(root, pid) with one real live process (its own group) standing for every
    live task of the tree; the process and the tree are gone afterwards."""
    live = subprocess.Popen(["setsid", "sleep", "3600"])
    try:
        return measure(root, live.pid)
    finally:
        live.kill()
        live.wait()
        shutil.rmtree(root, ignore_errors=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    big = os.environ.get("BIG") == "1" or os.environ.get("BIG_ONLY") == "1"
    only_big = os.environ.get("BIG_ONLY") == "1"
    shutil.rmtree(BASE, ignore_errors=True)
    os.makedirs(BASE)
    load_before = loadavg()
    lines = []
    if not only_big:
        marker_lat, death_lat = latency(os.path.join(BASE, "latency"))
        in_place_lat = latency_in_place(os.path.join(BASE, "in-place"))
        ticks, switches, peer_ticks = idle(os.path.join(BASE, "latency"))
        ready_s, rss, watches = with_live_process(scale, os.path.join(BASE, "scale"))
        dir_ready, dir_rss, dir_watches = with_live_process(directory_budget, os.path.join(BASE, "directories"))
        watch_s, sweep_s, left = burst(os.path.join(BASE, "burst"))
        lines += [
            f"| marker rename -> finalized JSON beyond the {GRACE_MS} ms grace, {len(marker_lat)} tasks | "
            f"p50 {pct(marker_lat, 50):.1f} ms, p99 {pct(marker_lat, 99):.1f} ms, max {max(marker_lat):.1f} ms | p50 <= 10 ms, p99 <= 50 ms |",
            f"| marker written in place into io/exit of a live task directory -> finalized record beyond the grace, "
            f"{len(in_place_lat)} tasks | p50 {pct(in_place_lat, 50):.1f} ms, p99 {pct(in_place_lat, 99):.1f} ms, "
            f"max {max(in_place_lat):.1f} ms | p50 <= 10 ms, p99 <= 50 ms |",
            f"| {DIR_TASKS} live task directories in {max(1, DIR_TASKS // 10)} sessions: first pass, RSS, inotify watches | "
            f"{dir_ready:.1f} s, {dir_rss / 1024:.1f} MiB, {dir_watches} watches ({dir_watches / DIR_TASKS:.2f} per task) | |",
            f"| SIGKILL (no marker) -> finalized JSON, {len(death_lat)} tasks | p50 {pct(death_lat, 50):.1f} ms, "
            f"max {max(death_lat):.1f} ms | <= 100 ms |",
            f"| idle {IDLE} s: CPU ticks (1/{TICKS} s), context switches | {ticks} ticks, {switches} switches "
            f"(peer inotifywait -m -r: {peer_ticks} ticks) | 0 ticks |",
            f"| {SESSIONS} sessions / {BUNDLES} live bundles: first pass, RSS, inotify watches | {ready_s:.1f} s, "
            f"{rss / 1024:.1f} MiB, {watches} watches | RSS <= 30 MB |",
            f"| burst: {BURST} bundles due at once, deadline -> all removed | watch {watch_s:.2f} s vs "
            f"sweep {sweep_s:.2f} s (ratio {watch_s / sweep_s:.2f}); sweep left {left} files | |",
        ]
    if big:
        import watch_big
        lines += watch_big.run(BASE)
    command = "scripts/bench/watch.sh" if not big else ("BIG_ONLY=1 " if only_big else "BIG=1 ") + "scripts/bench/watch.sh"
    lines = [
        "# watch benchmarks",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}  ",
        f"Machine: {os.cpu_count()} cores, kernel {platform.release()}, bench dir {BASE}  ",
        f"Load average (1, 5, 15 min) before: {load_before}, after: {loadavg()} (other builds share the machine)",
    ] + (["", "| measure | result | target |", "|---|---|---|"] if lines and lines[0] else []) + lines
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs("bench-results", exist_ok=True)
    out = f"bench-results/watch-{datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d-%H%M')}.md"
    with open(out, "w") as f:
        f.write(report)
    print(f"written to {out}")
    shutil.rmtree(BASE, ignore_errors=True)


if __name__ == "__main__":
    main()
