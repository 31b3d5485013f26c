#!/usr/bin/env python3
"""taskreaper sweep against find -delete and systemd-tmpfiles --clean, interleaved.

usage: sweep_vs_peers.py [N]
Run it through scripts/bench/sweep-vs-peers.sh, the one command that builds the binary first;
the environment variables are described there (BIN names the binary).

Fairness, in short (the report repeats it):
- every tool gets its own `cp -a` of ONE generated template, on the same file system, made
  outside the timing, followed by `sync` (the copy's writeback and the ext4 journal commit are
  done before the clock starts) and SETTLE seconds of rest;
- caches are NOT dropped by default: right after the copy every tool finds the tree in the page
  cache, as a timer finds a tree the harness wrote an hour ago on a machine with free memory.
  DROP_CACHES=1 gives every tool a cold start instead;
- the order of the tools rotates every round; the clock is time.monotonic_ns() around
  fork/exec/wait4 of the tool itself (rusage gives its user and system CPU);
- "other CPU" is the machine's busy CPU time during the run minus the tool's and journald's:
  work by anything else (another build, a test run) that competed for the 2 cores.
"""
import datetime, os, platform, shutil, signal, socket, statistics, subprocess, sys, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BASE = os.path.abspath(os.environ.get("BENCH_DIR", "/var/tmp/taskreaper-bench"))
BIN = os.path.abspath(os.environ.get("BIN", ".build/release/taskreaper"))
DROP = os.environ.get("DROP_CACHES", "0") == "1"
TMPFILES_AGE = os.environ.get("TMPFILES_AGE", "mM:1h")
SETTLE = float(os.environ.get("SETTLE", "1.1"))
LOG_TARGET = os.environ.get("LOG_TARGET", "auto")
EXTRA = os.environ.get("EXTRA", "1") == "1"
KEEP = os.environ.get("KEEP", "0") == "1"
CMDLINE = os.environ.get("BENCH_CMDLINE", " ".join(["scripts/bench/sweep_vs_peers.py", *sys.argv[1:]]))
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SESSIONS = max(1, N // 20)
TREES = ("opencode/bash-tasks", "pi/bash-tasks", "bash-tasks")
TICK = os.sysconf("SC_CLK_TCK")
JOURNAL_SOCKET = "/run/systemd/journal/socket"
MARKER = ".taskreaper-bench"


def journald_answers():
    """The socket file can outlive journald; a datagram connect tells."""
    if not os.path.exists(JOURNAL_SOCKET):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(JOURNAL_SOCKET)
        return True
    except OSError:
        return False
    finally:
        s.close()


JOURNAL = LOG_TARGET == "journal" or (LOG_TARGET == "auto" and journald_answers())


def out(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout.strip()


def try_out(*args):
    try:
        return out(*args)
    except (OSError, subprocess.CalledProcessError):
        return "?"


def journald_pid():
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() == "systemd-journal":
                        return int(p)
            except OSError:
                pass
    return None


def proc_cpu(pid):
    """utime + stime of a process, seconds."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def machine_busy():
    """Busy CPU seconds of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / TICK  # minus idle and iowait


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def settle():
    os.sync()
    if DROP:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    time.sleep(SETTLE)


JD = None


def timed(cmd, stderr_null=True):
    """Runs cmd; wall seconds (monotonic), exit code, user, sys, journald CPU, other CPU."""
    jd0, busy0 = proc_cpu(JD), machine_busy()
    t0 = time.monotonic_ns()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL if stderr_null else None)
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.monotonic_ns() - t0) / 1e9
    p.returncode = os.waitstatus_to_exitcode(status)
    jd = proc_cpu(JD) - jd0
    other = machine_busy() - busy0 - ru.ru_utime - ru.ru_stime - jd
    return {"wall": wall, "code": p.returncode, "user": ru.ru_utime, "sys": ru.ru_stime,
            "journald": jd, "other": max(0.0, other), "pid": p.pid}


def count(root):
    files = sessions = 0
    for t in TREES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, t)):
            files += len(filenames)
            if dirpath == os.path.join(root, t):
                sessions += len(dirnames)
    return files, sessions


def journal_entries(pid):
    """Entries journald stored for that taskreaper process (waits until the count is stable)."""
    last, stable = -1, 0
    for _ in range(40):
        r = subprocess.run(["journalctl", f"_PID={pid}", "SYSLOG_IDENTIFIER=taskreaper", "-o", "cat",
                            "--no-pager", "-q"], capture_output=True, text=True)
        n = r.stdout.count("\n")
        stable = stable + 1 if n == last else 0
        if stable >= 2:
            return n
        last = n
        time.sleep(0.25)
    return last


# --- tools --------------------------------------------------------------------------------

def trees(root):
    return [os.path.join(root, t) for t in TREES if os.path.isdir(os.path.join(root, t))]


def cmd_find(root):
    return ["find", *trees(root), "-mindepth", "1", "-delete"]


def cmd_tmpfiles(root):
    conf = root + ".tmpfiles.conf"
    with open(conf, "w") as f:
        for t in trees(root):
            f.write(f"e {t} - - - {TMPFILES_AGE}\n")
    return ["systemd-tmpfiles", "--clean", conf]


def cmd_taskreaper(root):
    return [BIN, "sweep", "--root", root, "--log-target", "journal" if JOURNAL else "stderr"]


def cmd_taskreaper_stderr(root):
    return [BIN, "sweep", "--root", root, "--log-target", "stderr"]


TR_NAME = "taskreaper sweep" + (" (journal)" if JOURNAL else " (stderr→/dev/null)")
TOOLS = {"find -delete": cmd_find, "systemd-tmpfiles --clean": cmd_tmpfiles, TR_NAME: cmd_taskreaper}
if EXTRA and JOURNAL:
    TOOLS["taskreaper sweep (stderr→/dev/null)"] = cmd_taskreaper_stderr


# --- the live process of the no-op case -----------------------------------------------------

LIVE = None


def kill_live(*_):
    global LIVE
    if LIVE is not None and LIVE.poll() is None:
        LIVE.kill()
        LIVE.wait()
    LIVE = None


def on_signal(signum, _frame):
    kill_live()
    sys.exit(128 + signum)


def start_live():
    global LIVE
    LIVE = subprocess.Popen(["setsid", "sleep", "3600"], stdin=subprocess.DEVNULL)
    for _ in range(100):  # setsid() then exec: wait until it is `sleep` leading its own group
        try:
            with open(f"/proc/{LIVE.pid}/comm") as f:
                if f.read().strip() == "sleep" and os.getpgid(LIVE.pid) == LIVE.pid:
                    return LIVE.pid
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit("could not start a `setsid sleep` leading its own group")


def snapshot(root):
    """sha256 of `find ROOT -printf '%P %s %T@\\n' | sort`: names, sizes, mtimes."""
    return out("sh", "-c", f"find '{root}' -printf '%P %s %T@\\n' | LC_ALL=C sort | sha256sum").split()[0]


# --- report helpers -------------------------------------------------------------------------

def med(runs, key="wall"):
    return statistics.median(r[key] for r in runs)


def fmt_runs(runs, key="wall"):
    return ", ".join(f"{r[key]:.2f}" for r in runs)


def main():
    global JD
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"no binary at {BIN} (run scripts/bench/sweep-vs-peers.sh, which builds it)")
    if DROP and os.geteuid() != 0:
        raise SystemExit("DROP_CACHES=1 needs root")
    if os.path.exists(BASE):
        if os.listdir(BASE) and not os.path.exists(os.path.join(BASE, MARKER)):
            raise SystemExit(f"{BASE} exists, is not empty and is not ours ({MARKER} missing): refusing to delete it")
        shutil.rmtree(BASE)
    os.makedirs(BASE)
    open(os.path.join(BASE, MARKER), "w").close()
    JD = journald_pid() if JOURNAL else None
    problems = []

    # Machine and versions, first (the build of the other engineer may change the tree later).
    fs = try_out("findmnt", "-n", "-o", "FSTYPE,OPTIONS", "--target", BASE)
    jfs = try_out("findmnt", "-n", "-o", "FSTYPE", "--target", "/run/log/journal") if JOURNAL else ""
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    rev = try_out("git", "-C", REPO, "rev-parse", "--short", "HEAD")
    dirty = try_out("git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift")
    bin_sha = try_out("sha256sum", BIN).split()[0][:16]
    versions = {
        "swift": try_out("swift", "--version").splitlines()[0] if shutil.which("swift") else "?",
        "systemd-tmpfiles": try_out("systemd-tmpfiles", "--version").splitlines()[0],
        "find": try_out("find", "--version").splitlines()[0],
    }
    started = datetime.datetime.now(datetime.timezone.utc)

    # ---------------- removal: N delivered bundles ----------------
    template = os.path.join(BASE, "template")
    subprocess.run([sys.executable, os.path.join(HERE, "make-tree.py"), template, "--bundles", str(N),
                    "--sessions", str(SESSIONS), "--kind", "delivered"], check=True)
    total_files, total_sessions = count(template)
    total_bytes = int(out("du", "-sb", template).split()[0])
    results = {name: [] for name in TOOLS}
    order = list(TOOLS)
    load = [loadavg()]
    for r in range(ROUNDS):
        for name in order:
            root = os.path.join(BASE, f"run-{r}-{list(TOOLS).index(name)}")
            subprocess.run(["cp", "-a", template, root], check=True)
            cmd = TOOLS[name](root)
            settle()
            res = timed(cmd)
            res["round"], res["load"], res["seq"] = r + 1, loadavg(), len(sum(results.values(), []))
            res["files_left"], res["sessions_left"] = count(root)
            if name.startswith("taskreaper") and "journal" in name:
                res["journal_entries"] = journal_entries(res["pid"])
            results[name].append(res)
            line = (f"round {r + 1} {name:38} {res['wall']:7.2f} s  exit {res['code']}  files left "
                    f"{res['files_left']}  sessions left {res['sessions_left']}  other CPU {res['other']:.2f} s")
            print(line, file=sys.stderr, flush=True)
            if res["code"] != 0 or res["files_left"] != 0:
                problems.append(f"{name}, round {r + 1}: exit {res['code']}, {res['files_left']} files left")
            shutil.rmtree(root)
            if os.path.exists(root + ".tmpfiles.conf"):
                os.unlink(root + ".tmpfiles.conf")
        order = order[1:] + order[:1]  # rotate who goes first
    load.append(loadavg())
    shutil.rmtree(template)
    os.sync()

    # ---------------- no-op: N live bundles, one real process ----------------
    live_root = os.path.join(BASE, "live")
    pid = start_live()
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "make-tree.py"), live_root, "--bundles", str(N),
                        "--sessions", str(SESSIONS), "--kind", "live", "--live-pid", str(pid)], check=True)
        os.sync()
        before = snapshot(live_root)
        # Untimed check run (and warm-up for both): --json, every task seen, no action at all.
        check = subprocess.run([BIN, "sweep", "--root", live_root, "--json", "--log-target", "stderr"],
                               capture_output=True, text=True)
        summary = next((l for l in reversed(check.stdout.splitlines()) if '"summary"' in l), "")
        actions = sum(1 for l in check.stdout.splitlines() if l.strip() and '"summary"' not in l)
        if check.returncode != 0 or actions != 0:
            problems.append(f"no-op check run: exit {check.returncode}, {actions} actions")
        peer_cmd = ["sh", "-c", f"find '{live_root}' -name '*.json' -exec cat {{}} + >/dev/null"]
        subprocess.run(peer_cmd, check=True)
        noop_tools = {TR_NAME: cmd_taskreaper(live_root),
                      "find -name '*.json' -exec cat {} + (read every JSON)": peer_cmd}
        noop = {k: [] for k in noop_tools}
        order = list(noop_tools)
        for r in range(ROUNDS):
            for name in order:
                settle()
                res = timed(noop_tools[name])
                res["round"] = r + 1
                noop[name].append(res)
                print(f"no-op round {r + 1} {name:38} {res['wall']:7.2f} s  exit {res['code']}", file=sys.stderr,
                      flush=True)
                if res["code"] != 0:
                    problems.append(f"no-op {name}, round {r + 1}: exit {res['code']}")
            order = order[1:] + order[:1]
        after = snapshot(live_root)
        alive = LIVE.poll() is None
        if before != after:
            problems.append("no-op: the live tree CHANGED")
        if not alive:
            problems.append("no-op: the live process died during the runs")
    finally:
        kill_live()

    # ---------------- report ----------------
    finished = datetime.datetime.now(datetime.timezone.utc)
    names = list(TOOLS)
    base = med(results["find -delete"])
    tr = med(results[TR_NAME])
    tm = med(results["systemd-tmpfiles --clean"])
    L = []
    L.append(f"# taskreaper sweep vs peers: {N} delivered bundles, {ROUNDS} interleaved rounds")
    L.append("")
    L.append(f"Command: `{CMDLINE}`  ")
    L.append(f"Date: {started:%Y-%m-%d %H:%M:%S} – {finished:%H:%M:%S} UTC  ")
    L.append(f"Machine: {os.cpu_count()} CPUs ({cpu}), {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') >> 30} GiB, "
             f"kernel {platform.release()}  ")
    L.append(f"Bench dir: `{BASE}`: {fs}  ")
    L.append(f"taskreaper: `{BIN}` (sha256 {bin_sha}…), git {rev}"
             f"{' + uncommitted changes in Sources/' if dirty not in ('', '?') else ''}; {versions['swift']}  ")
    L.append(f"Peers: {versions['find']}; {versions['systemd-tmpfiles']}  ")
    L.append(f"taskreaper logging: "
             + (f"`--log-target journal` to a running journald (pid {JD}; its journal in /run/log/journal on {jfs})"
                if JOURNAL else "`--log-target stderr`, stderr to /dev/null (no journald answering)") + "  ")
    L.append(f"Load average (1 min) before / after the removal rounds: {load[0]} / {load[1]}")
    L.append("")
    L.append("## Removal")
    L.append("")
    L.append(f"Tree: {N} bundles = {total_files} files ({total_bytes / 2**20:.0f} MiB) in {total_sessions} session "
             f"directories (opencode/, pi/, legacy bash-tasks/), every mtime 2 h old, delivered.")
    L.append("")
    L.append("Commands (ROOT = a fresh `cp -a` of the template):")
    L.append("")
    L.append("    find ROOT/opencode/bash-tasks ROOT/pi/bash-tasks ROOT/bash-tasks -mindepth 1 -delete")
    L.append(f"    systemd-tmpfiles --clean CONF      # CONF: `e ROOT/<tree> - - - {TMPFILES_AGE}` per tree")
    L.append(f"    taskreaper sweep --root ROOT --log-target {'journal' if JOURNAL else 'stderr 2>/dev/null'}")
    if len(TOOLS) > 3:
        L.append("    taskreaper sweep --root ROOT --log-target stderr 2>/dev/null   # same run, logging cost isolated")
    L.append("")
    L.append("| tool | wall per run (s) | median wall (s) | ratio to find | median user+sys CPU (s) | "
             "journald CPU (s) | other CPU (s) | exit codes | files left | session dirs left |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        runs = results[name]
        cpu_med = statistics.median(r["user"] + r["sys"] for r in runs)
        L.append(f"| {name} | {fmt_runs(runs)} | **{med(runs):.2f}** | **{med(runs) / base:.2f}** | {cpu_med:.2f} "
                 f"({statistics.median(r['user'] for r in runs):.2f} + {statistics.median(r['sys'] for r in runs):.2f}) | "
                 f"{fmt_runs(runs, 'journald')} | {fmt_runs(runs, 'other')} | "
                 f"{', '.join(str(r['code']) for r in runs)} | {', '.join(str(r['files_left']) for r in runs)} | "
                 f"{', '.join(str(r['sessions_left']) for r in runs)} |")
    L.append("")
    L.append(f"Ratios of medians: **taskreaper / find = {tr / base:.2f}** (target ≤ 0.90: "
             f"{'met' if tr / base <= 0.9 else 'NOT met'}), **tmpfiles / find = {tm / base:.2f}**.")
    if JOURNAL:
        ents = [r.get("journal_entries") for r in results[TR_NAME]]
        L.append("")
        L.append(f"Journal entries stored per taskreaper run (expected {N} remove_bundle + {total_sessions} "
                 f"remove_session_dir + 1 summary = {N + total_sessions + 1}): {', '.join(str(e) for e in ents)}.")
    L.append("")
    L.append("Per run, in execution order (round: tool wall s):")
    L.append("")
    for r in range(ROUNDS):
        row = sorted(((res["round"], name, res) for name in names for res in results[name] if res["round"] == r + 1),
                     key=lambda x: x[2]["seq"])
        L.append(f"- round {r + 1}: " + "; ".join(f"{name} {res['wall']:.2f}" for _, name, res in row))
    L.append("")
    L.append("## No-op: N live bundles")
    L.append("")
    L.append(f"Tree: {N} running tasks (child_pid = pgid = one real `setsid sleep`, pid {pid}), .json/.stdout/"
             f".stderr/.sh each; the sweep must probe every task and change nothing. "
             f"Tree checksum (`find -printf '%P %s %T@'`, sorted) before/after: "
             f"{'**unchanged**' if before == after else '**CHANGED**'}; untimed `--json` check run: exit "
             f"{check.returncode}, {actions} actions.")
    L.append("")
    L.append("| what | wall per run (s) | median (s) | µs per bundle | median user+sys CPU (s) |")
    L.append("|---|---|---|---|---|")
    for name, runs in noop.items():
        L.append(f"| {name} | {fmt_runs(runs)} | {med(runs):.3f} | {med(runs) / N * 1e6:.0f} | "
                 f"{statistics.median(r['user'] + r['sys'] for r in runs):.3f} |")
    nt = med(noop[TR_NAME])
    npeer = med(noop[list(noop)[1]])
    L.append("")
    L.append(f"Ratio taskreaper / read-every-JSON: {nt / npeer:.2f}. Summary of the check run: `{summary}`")
    L.append("")
    L.append("## Method and fairness")
    L.append("")
    L.append(f"- One template generated by `scripts/bench/make-tree.py` (schema-4 JSON byte-for-byte as serde "
             f"writes it) inside `{BASE}`; every run gets its own `cp -a` of it on the same file system, made "
             f"outside the timing, then `sync` and {SETTLE} s of rest, so the copy's writeback and journal commit "
             f"never land in a timed run.")
    L.append(f"- Caches: {'dropped (`echo 3 > /proc/sys/vm/drop_caches`) before every run' if DROP else 'not dropped'}. "
             + ("Every tool starts cold." if DROP else
                "Every tool finds the freshly copied tree in the page cache, as an hourly timer finds a tree "
                "written an hour ago on a machine with free memory; a cold cache mostly measures the disk's "
                "random-read latency, the same for every tool (DROP_CACHES=1 to measure that)."))
    L.append("- Order rotated every round (the first run of a round has no advantage: every copy is fresh). "
             "Wall time: `time.monotonic_ns()` around fork/exec/wait4 of the tool; CPU from wait4's rusage.")
    L.append(f"- tmpfiles ages by atime, btime, ctime and mtime by default; `cp -a` gives fresh btime/ctime "
             f"(and the copy reads the template, refreshing its atime under relatime), so the age field "
             f"`{TMPFILES_AGE}` is used: mtime for files (m) and directories (M), the same criterion as "
             f"taskreaper's retention. (`1s` also deletes everything, but only when the run starts ≥ 1 s after "
             f"the copy; plain `m:` keeps the session directories.)")
    L.append("- Verified after every run: exit status 0 and no file left under any bash-tasks tree (columns "
             "`files left`, `session dirs left`; the bash-tasks trees themselves are kept by all tools).")
    L.append("- `other CPU` = busy CPU time of the whole machine during the run (/proc/stat) minus the tool's "
             "and journald's: anything else competing for the cores (kernel writeback/discard workers included).")
    if problems:
        L.append("")
        L.append("## PROBLEMS")
        L.append("")
        L += [f"- {p}" for p in problems]
    report = "\n".join(L) + "\n"
    print(report)
    os.makedirs(os.path.join(REPO, "bench-results"), exist_ok=True)
    path = os.path.join(REPO, "bench-results", f"sweep-{started:%Y%m%d-%H%M}.md")
    k = 2
    while os.path.exists(path):
        path = os.path.join(REPO, "bench-results", f"sweep-{started:%Y%m%d-%H%M}-{k}.md")
        k += 1
    with open(path, "w") as f:
        f.write(report)
    print(f"written to {os.path.relpath(path, REPO)}", file=sys.stderr)
    if not KEEP:
        shutil.rmtree(BASE, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    try:
        main()
    finally:
        kill_live()
