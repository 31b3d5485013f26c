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
  work by anything else (another build, a test run) that competed for the 2 cores; before every
  timed run the script waits (up to QUIET_MAX s) until the rest of the machine uses less than
  QUIET cores, and reports how long it waited; a run during which the rest of the machine used
  more than QUIET cores on average is discarded and run again on a fresh copy (REDO times at most);
- taskreaper is skipped, with a message, when `BIN sweep --help` fails (binary missing, or the
  subcommand not implemented yet): the peers are still measured and verified.
"""
import datetime, os, shutil, signal, socket, statistics, subprocess, sys, time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchlib, wherever this is run from
import benchlib
from benchlib import TICK, machine_busy, med, out, try_out

# Imported by growth.py and cpu_profile.py for its functions: argv is theirs then.
N = int(sys.argv[1]) if __name__ == "__main__" and len(sys.argv) > 1 else 20000
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
SESSIONS = int(os.environ.get("SESSIONS", "0")) or max(1, N // 20)
QUIET = float(os.environ.get("QUIET", "0.3"))
QUIET_MAX = float(os.environ.get("QUIET_MAX", "120"))
REDO = int(os.environ.get("REDO", "3"))
TREES = ("opencode/bash-tasks", "pi/bash-tasks", "bash-tasks")
JOURNAL_SOCKET = "/run/systemd/journal/socket"
MARKER = ".taskreaper-bench"
# flat: schema-4 bundles (4 files each); directory: the current harness's task directories
# (9 files and 3 directories each, CONTRACT section 7).
LAYOUT = os.environ.get("LAYOUT", "flat")


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


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def settle():
    """benchlib.settle with this benchmark's SETTLE, QUIET, QUIET_MAX and DROP_CACHES: (waited s, busy cores)."""
    return benchlib.settle(SETTLE, QUIET, QUIET_MAX, drop_caches=DROP)


JD = None


def timed(cmd, stderr_null=True, env=None):
    """Runs cmd; wall seconds (monotonic), exit code, user, sys, journald CPU, other CPU."""
    jd0, busy0 = proc_cpu(JD), machine_busy()
    started_at = time.time()
    t0 = time.monotonic_ns()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL if stderr_null else None, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.monotonic_ns() - t0) / 1e9
    p.returncode = os.waitstatus_to_exitcode(status)
    jd = proc_cpu(JD) - jd0
    other = machine_busy() - busy0 - ru.ru_utime - ru.ru_stime - jd
    return {"wall": wall, "code": p.returncode, "user": ru.ru_utime, "sys": ru.ru_stime,
            "journald": jd, "other": max(0.0, other), "pid": p.pid,
            "started_at": started_at}


def checked_removal(res, root, name, attempt):
    """After a timed removal of the copy at root: what is left, the journal entries of a
    journaling taskreaper, whether it succeeded and whether to run it again (noisy); then
    removes the copy and its tmpfiles configuration. Returns (ok, redo)."""
    res["files_left"], res["sessions_left"] = count(root)
    if name.startswith("taskreaper") and "journal" in name:
        res["journal_entries"] = journal_entries(res["pid"], res["started_at"])
    ok = res["code"] == 0 and res["files_left"] == 0 and res["sessions_left"] == 0
    redo = ok and benchlib.noisy(res, QUIET) and attempt < REDO
    shutil.rmtree(root)
    if os.path.exists(root + ".tmpfiles.conf"):
        os.unlink(root + ".tmpfiles.conf")
    return ok, redo


def count(root):
    files = sessions = 0
    for t in TREES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, t)):
            files += len(filenames)
            if dirpath == os.path.join(root, t):
                sessions += len(dirnames)
    return files, sessions


def journal_entries(pid, since):
    """Entries journald stored for that taskreaper process (waits until the count is stable).
    Only those since the run started: pids wrap (pid_max is 32768 here), and an earlier
    taskreaper of the same pid would count too."""
    last, stable = -1, 0
    for _ in range(40):
        r = subprocess.run(["journalctl", f"_PID={pid}", "SYSLOG_IDENTIFIER=taskreaper", "--since", f"@{since - 1:.0f}",
                            "-o", "cat", "--no-pager", "-q"], capture_output=True, text=True)
        n = r.stdout.count("\n")
        stable = stable + 1 if n == last else 0
        if stable >= 2:
            return n
        last = n
        time.sleep(0.25)
    return last


def ext4_note(fstype_source):
    """ext4 without a journal and with online discard frees (and discards) data blocks inside unlink(2)."""
    parts = fstype_source.split()
    if len(parts) != 2 or parts[0] != "ext4":
        return ""
    dev = os.path.basename(parts[1])
    try:
        with open(f"/proc/fs/ext4/{dev}/options") as f:
            discard = "discard" in f.read().split()
    except OSError:
        return ""
    journal = any(e.startswith(dev + "-") for e in (os.listdir("/proc/fs/jbd2") if os.path.isdir("/proc/fs/jbd2") else []))
    if discard and not journal:
        return (f"ext4 on {parts[1]} has no journal and is mounted with `discard`: every unlink of a file with data "
                "blocks waits for a synchronous discard (kernel stack: ext4_free_blocks -> blkdev_issue_discard -> "
                "submit_bio_wait), so removal here is bound by discard latency, which a multi-threaded remover "
                "overlaps and a single-threaded one does not. Compare the CPU columns, or rerun with "
                "BENCH_DIR on a tmpfs, for the CPU-bound picture.")
    if discard:
        return f"ext4 on {parts[1]} is mounted with `discard` (discards issued at journal commit)."
    return ""


# --- tools --------------------------------------------------------------------------------

def taskreaper_status():
    """(True, "") when BIN exists and `BIN sweep --help` succeeds, else (False, why)."""
    if not os.access(BIN, os.X_OK):
        return False, f"no executable at {BIN}"
    try:
        r = subprocess.run([BIN, "sweep", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"`{BIN} sweep --help` failed: {e}"
    if r.returncode != 0:
        first = (r.stderr or r.stdout).strip().splitlines()
        return False, (f"`{BIN} sweep --help` exited {r.returncode}"
                       + (f" ({first[0][:120]})" if first else "") + ": the sweep subcommand is not there yet")
    return True, ""


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
TOOLS = {"find -delete": cmd_find, "systemd-tmpfiles --clean": cmd_tmpfiles}
HAVE_TR, TR_WHY = False, ""


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

def fmt_runs(runs, key="wall"):
    return ", ".join(f"{r[key]:.2f}" for r in runs)


def main():
    global JD, HAVE_TR, TR_WHY
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    HAVE_TR, TR_WHY = taskreaper_status()
    if HAVE_TR:
        TOOLS[TR_NAME] = cmd_taskreaper
        if EXTRA and JOURNAL:
            TOOLS["taskreaper sweep (stderr→/dev/null)"] = cmd_taskreaper_stderr
    else:
        print(f"sweep-vs-peers: SKIPPING taskreaper: {TR_WHY}. Measuring the peers only.", file=sys.stderr)
    if DROP and os.geteuid() != 0:
        raise SystemExit("DROP_CACHES=1 needs root")
    benchlib.fresh_bench_dir(BASE, MARKER)
    JD = journald_pid() if JOURNAL else None
    problems = []
    discarded = []

    # Machine and versions, first (the build of the other engineer may change the tree later).
    fs = try_out("findmnt", "-n", "-f", "-o", "FSTYPE,OPTIONS", "--target", BASE)
    fs_note = ext4_note(try_out("findmnt", "-n", "-f", "-o", "FSTYPE,SOURCE", "--target", BASE))
    jfs = try_out("findmnt", "-n", "-f", "-o", "FSTYPE", "--target", "/run/log/journal") if JOURNAL else ""
    cpu = benchlib.cpu_model()
    rev = try_out("git", "-C", REPO, "rev-parse", "--short", "HEAD")
    dirty = try_out("git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift")
    bin_sha = try_out("sha256sum", BIN).split()[0][:16] if HAVE_TR else "-"
    versions = {
        "swift": try_out("swift", "--version").splitlines()[0] if shutil.which("swift") else "?",
        "systemd-tmpfiles": try_out("systemd-tmpfiles", "--version").splitlines()[0],
        "find": try_out("find", "--version").splitlines()[0],
    }
    started = datetime.datetime.now(datetime.timezone.utc)

    # ---------------- removal: N delivered bundles ----------------
    template = os.path.join(BASE, "template")
    benchlib.make_tree(template, N, SESSIONS, "delivered", layout=LAYOUT)
    total_files, total_sessions = count(template)
    total_bytes = int(out("du", "-sb", template).split()[0])
    results = {name: [] for name in TOOLS}
    order = list(TOOLS)
    load = [loadavg()]
    for r in range(ROUNDS):
        for name in order:
            for attempt in range(REDO + 1):
                root = os.path.join(BASE, f"run-{r}-{list(TOOLS).index(name)}")
                subprocess.run(["cp", "-a", template, root], check=True)
                cmd = TOOLS[name](root)
                waited, busy = settle()
                res = timed(cmd)
                res["round"], res["load"], res["seq"] = r + 1, loadavg(), len(sum(results.values(), []))
                res["waited"], res["busy_before"] = waited, busy
                ok, redo = checked_removal(res, root, name, attempt)
                line = (f"round {r + 1} {name:38} {res['wall']:7.2f} s  exit {res['code']}  files left "
                        f"{res['files_left']}  sessions left {res['sessions_left']}  other CPU {res['other']:.2f} s"
                        f"  (waited {waited:.0f} s for < {QUIET} busy cores; last {busy:.2f})"
                        + ("  NOISY: discarded, run again" if redo else ""))
                print(line, file=sys.stderr, flush=True)
                if not ok:
                    problems.append(f"{name}, round {r + 1}: exit {res['code']}, {res['files_left']} files and "
                                    f"{res['sessions_left']} session directories left")
                if redo:
                    discarded.append((name, res))
                    continue
                results[name].append(res)
                break
        order = order[1:] + order[:1]  # rotate who goes first
    load.append(loadavg())
    shutil.rmtree(template)
    os.sync()

    # ---------------- no-op: N live bundles, one real process ----------------
    noop, pid, check, summary, actions, before, after = {}, None, None, "", 0, "", ""
    if HAVE_TR:
        live_root = os.path.join(BASE, "live")
        pid = start_live()
        try:
            benchlib.make_tree(live_root, N, SESSIONS, "live", live_pid=pid, layout=LAYOUT)
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
                    for attempt in range(REDO + 1):
                        waited, busy = settle()
                        res = timed(noop_tools[name])
                        res["round"], res["waited"], res["busy_before"] = r + 1, waited, busy
                        redo = res["code"] == 0 and benchlib.noisy(res, QUIET) and attempt < REDO
                        print(f"no-op round {r + 1} {name:38} {res['wall']:7.2f} s  exit {res['code']}  other CPU "
                              f"{res['other']:.2f} s" + ("  NOISY: discarded, run again" if redo else ""),
                              file=sys.stderr, flush=True)
                        if res["code"] != 0:
                            problems.append(f"no-op {name}, round {r + 1}: exit {res['code']}")
                        if redo:
                            discarded.append((f"no-op {name}", res))
                            continue
                        noop[name].append(res)
                        break
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
    tm = med(results["systemd-tmpfiles --clean"])
    cpu_of = {k: benchlib.med_cpu(v) for k, v in results.items()}
    all_runs = [r for v in list(results.values()) + list(noop.values()) for r in v]
    L = []
    what = "delivered bundles (flat, schema 4)" if LAYOUT == "flat" else "delivered task directories (schema 7, 9 files each)"
    L.append(f"# taskreaper sweep vs peers: {N} {what}, {ROUNDS} interleaved rounds")
    L.append("")
    L += benchlib.report_head(CMDLINE, started, finished, cpu, BASE, fs)
    if HAVE_TR:
        L.append(f"taskreaper: `{BIN}` (sha256 {bin_sha}…), git {rev}"
                 f"{' + uncommitted changes in Sources/' if dirty not in ('', '?') else ''}; {versions['swift']}  ")
    else:
        L.append(f"taskreaper: **SKIPPED**: {TR_WHY}  ")
    L.append(f"Peers: {versions['find']}; {versions['systemd-tmpfiles']}  ")
    if HAVE_TR:
        L.append(f"taskreaper logging: "
                 + (f"`--log-target journal` to a running journald (pid {JD}; its journal in /run/log/journal on {jfs})"
                    if JOURNAL else "`--log-target stderr`, stderr to /dev/null (no journald answering)") + "  ")
    L.append(f"Load average (1 min) before / after the removal rounds: {load[0]} / {load[1]}  ")
    if QUIET > 0:
        waits = [r["waited"] for r in all_runs]
        L.append(f"Quiet gate: before each timed run, waited until the rest of the machine used < {QUIET} cores "
                 f"(max {QUIET_MAX:.0f} s): total wait {sum(waits):.0f} s, longest {max(waits):.0f} s; "
                 f"{sum(1 for r in all_runs if r['busy_before'] >= QUIET)} of {len(all_runs)} runs started without "
                 f"a quiet machine. A run during which the rest of the machine used more than {QUIET} cores on "
                 f"average was discarded and run again on a fresh copy (at most {REDO} times per slot): "
                 f"{len(discarded)} discarded"
                 + (" (" + "; ".join(f"{n} {r['wall']:.2f} s, other CPU {r['other']:.2f} s" for n, r in discarded) + ")"
                    if discarded else "") + ".")
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
    if HAVE_TR:
        L.append(f"    taskreaper sweep --root ROOT --log-target {'journal' if JOURNAL else 'stderr 2>/dev/null'}")
    if len(TOOLS) > 3:
        L.append("    taskreaper sweep --root ROOT --log-target stderr 2>/dev/null   # same run, logging cost isolated")
    L.append("")
    L.append("| tool | wall per run (s) | median wall (s) | ratio to find | median user+sys CPU (s) | "
             "journald CPU (s) | other CPU (s) | exit codes | files left | session dirs left |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        runs = results[name]
        L.append(f"| {name} | {fmt_runs(runs)} | **{med(runs):.2f}** | **{med(runs) / base:.2f}** | {cpu_of[name]:.2f} "
                 f"({statistics.median(r['user'] for r in runs):.2f} + {statistics.median(r['sys'] for r in runs):.2f}) | "
                 f"{fmt_runs(runs, 'journald')} | {fmt_runs(runs, 'other')} | "
                 f"{', '.join(str(r['code']) for r in runs)} | {', '.join(str(r['files_left']) for r in runs)} | "
                 f"{', '.join(str(r['sessions_left']) for r in runs)} |")
    L.append("")
    if HAVE_TR:
        tr = med(results[TR_NAME])
        line = (f"Ratios of medians: **taskreaper / find = {tr / base:.2f}** (target ≤ 0.90: "
                f"{'met' if tr / base <= 0.9 else 'NOT met'}), **tmpfiles / find = {tm / base:.2f}**")
        if len(TOOLS) > 3:
            line += (f", taskreaper (stderr→/dev/null) / find = "
                     f"{med(results['taskreaper sweep (stderr→/dev/null)']) / base:.2f}")
        line += (f". CPU time (user+sys) ratios: taskreaper / find = {cpu_of[TR_NAME] / cpu_of['find -delete']:.2f}, "
                 f"tmpfiles / find = {cpu_of['systemd-tmpfiles --clean'] / cpu_of['find -delete']:.2f}.")
        L.append(line)
    else:
        L.append(f"Ratio of medians: **tmpfiles / find = {tm / base:.2f}**; taskreaper not measured ({TR_WHY}).")
    if fs_note:
        L.append("")
        L.append(f"Note on this file system: {fs_note}")
    if HAVE_TR and JOURNAL:
        ents = [r.get("journal_entries") for r in results[TR_NAME]]
        L.append("")
        L.append(f"Journal entries stored per taskreaper run (expected: a session's removals are one entry, issue 14: "
                 f"{total_sessions} remove_bundle + {total_sessions} remove_session_dir + 1 summary = "
                 f"{2 * total_sessions + 1}; journald's default rate limit is 10 000 per 30 s, the shipped units "
                 f"raise it to 100 000): {', '.join(str(e) for e in ents)}.")
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
    if HAVE_TR:
        L.append(f"Tree: {N} running tasks (child_pid = pgid = one real `setsid sleep`, pid {pid}), .json/.stdout/"
                 f".stderr/.sh each; the sweep must probe every task and change nothing. "
                 f"Tree checksum (`find -printf '%P %s %T@'`, sorted) before/after: "
                 f"{'**unchanged**' if before == after else '**CHANGED**'}; untimed `--json` check run: exit "
                 f"{check.returncode}, {actions} actions.")
        L.append("")
        L.append("| what | wall per run (s) | median (s) | µs per bundle | median user+sys CPU (s) | other CPU (s) |")
        L.append("|---|---|---|---|---|---|")
        for name, runs in noop.items():
            L.append(f"| {name} | {fmt_runs(runs)} | {med(runs):.3f} | {med(runs) / N * 1e6:.0f} | "
                     f"{benchlib.med_cpu(runs):.3f} | {fmt_runs(runs, 'other')} |")
        nt = med(noop[TR_NAME])
        npeer = med(noop[list(noop)[1]])
        L.append("")
        L.append(f"Ratio taskreaper / read-every-JSON: {nt / npeer:.2f}. Summary of the check run: `{summary}`")
    else:
        L.append(f"Skipped: taskreaper not available ({TR_WHY}).")
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
             "Wall time: `time.monotonic_ns()` around fork/exec/wait4 of the tool; CPU from wait4's rusage. "
             "(No hyperfine: each run needs its own untimed copy and a verification afterwards, and the "
             "rotation interleaves the tools.)")
    L.append(f"- tmpfiles ages by atime, btime, ctime and mtime by default; `cp -a` gives fresh btime/ctime "
             f"(and the copy reads the template, refreshing its atime under relatime), so the age field "
             f"`{TMPFILES_AGE}` is used: mtime for files (m) and directories (M), the same criterion as "
             f"taskreaper's retention. (`1s` also deletes everything, but only when the run starts ≥ 1 s after "
             f"the copy; plain `m:` keeps the session directories.)")
    L.append("- find and tmpfiles read no JSON and decide nothing: they are the floor for removing the same "
             "files; taskreaper also parses every JSON, checks status/delivery/age, unlinks the members before "
             "the JSON, and logs one entry per session for its removals and one per removed session directory.")
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
    benchlib.write_report(report, REPO, "sweep" if LAYOUT == "flat" else f"sweep-{LAYOUT}", started)
    if not KEEP:
        shutil.rmtree(BASE, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    try:
        main()
    finally:
        kill_live()
