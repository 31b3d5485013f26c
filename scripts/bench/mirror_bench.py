#!/usr/bin/env python3
"""The aft.db mirror benchmark: sweep with and without <root>/aft.db against the floor.

usage: mirror_bench.py [N [M]]
Run it through scripts/bench/mirror.sh (builds the binary first; the environment variables are
described there; BIN names the binary).

Removal (N delivered bundles): (a) `taskreaper sweep` with aft.db, (b) the same tree without
aft.db, (c) `find -delete` of the trees, then ONE `sqlite3` bulk DELETE of the same rows in one
transaction. Finalization (M running tasks, process gone, exit marker "0"): `taskreaper sweep
--finalize-grace 0` with and without aft.db. Every timed run gets its own untimed `cp -a` of
one template and is verified afterwards; the first failed check stops the benchmark (exit 1),
keeping BENCH_DIR and printing how to reproduce.

Trees come from make-tree.py; its legacy `<root>/bash-tasks` sessions (1 in 50) are moved to
pi/bash-tasks (mtimes kept), so every bundle has a harness. aft.db gets the harness's table
(the schema is read from Tests/Support/HarnessDatabase.swift) in WAL mode: one row per bundle,
as the harness fills it (metadata = the JSON, compact), plus one extra row per bundle that
must survive: for even bundles the same session_id/task_id under the OTHER harness, for odd
ones a task id of the same session that is not on disk (status running).
"""
import collections, datetime, functools, hashlib, json, os, re, select, shutil, signal, sqlite3, subprocess, sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchlib, wherever this is run from
import benchlib
from benchlib import med, med_cpu as cpu

ARGS = sys.argv[1:]
N = int(ARGS[0]) if ARGS else int(os.environ.get("N", "20000"))
M = int(ARGS[1]) if len(ARGS) > 1 else int(os.environ.get("M", "2000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BASE = os.path.abspath(os.environ.get("BENCH_DIR", "/var/tmp/taskreaper-mirror-bench"))
BIN = os.path.abspath(os.environ.get("BIN", ".build-bench/release/taskreaper"))
KEEP = os.environ.get("KEEP", "0") == "1"
SETTLE = float(os.environ.get("SETTLE", "1.1"))
QUIET = float(os.environ.get("QUIET", "0.3"))
QUIET_MAX = float(os.environ.get("QUIET_MAX", "120"))
REDO = int(os.environ.get("REDO", "2"))
RUN_TIMEOUT = float(os.environ.get("RUN_TIMEOUT", "600"))
CMDLINE = os.environ.get("BENCH_CMDLINE", " ".join(["scripts/bench/mirror_bench.py", *ARGS]))
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TREES = ("opencode/bash-tasks", "pi/bash-tasks")
OTHER = {"opencode": "pi", "pi": "opencode"}
MARKER = ".taskreaper-mirror-bench"
COLUMNS = ("harness", "session_id", "task_id", "project_key", "command", "cwd", "status", "exit_code", "pid",
           "pgid", "started_at", "completed_at", "stdout_path", "stderr_path", "compressed", "timeout_ms",
           "completion_delivered", "output_bytes", "metadata")
ORDER = "ORDER BY harness, session_id, task_id"
REDONE = [0]


class CheckFailed(Exception):
    pass


try_out = functools.partial(benchlib.try_out, timeout=60)


def harness_schema():
    """HarnessDatabase.schema, from the test support file (so the bench follows the tests)."""
    with open(os.path.join(REPO, "Tests/Support/HarnessDatabase.swift")) as f:
        m = re.search(r'static let schema = """\n(.*?)"""', f.read(), re.S)
    if not m or "CREATE TABLE bash_tasks" not in m.group(1):
        raise SystemExit("mirror-bench: HarnessDatabase.schema not found in Tests/Support/HarnessDatabase.swift")
    return m.group(1)


# --- generation -------------------------------------------------------------------------------

def make_tree(root, n, kind, pid=None):
    benchlib.make_tree(root, n, max(1, n // 20), kind, live_pid=pid, timeout=1200)
    legacy = os.path.join(root, "bash-tasks")
    if os.path.isdir(legacy):  # no harness there: move to pi/ (the parity make-tree gives them), mtimes kept
        os.makedirs(os.path.join(root, "pi/bash-tasks"), exist_ok=True)
        for name in os.listdir(legacy):
            st = os.stat(os.path.join(legacy, name))
            os.rename(os.path.join(legacy, name), os.path.join(root, "pi/bash-tasks", name))
            os.utime(os.path.join(root, "pi/bash-tasks", name), ns=(st.st_atime_ns, st.st_mtime_ns))
        os.rmdir(legacy)


def bundles(root):
    """[(harness, json path, task id)] of every bundle under the trees."""
    found = []
    for t in TREES:
        base = os.path.join(root, t)
        for s in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            for f in sorted(os.listdir(os.path.join(base, s))):
                if f.endswith(".json"):
                    found.append((t.split("/")[0], os.path.join(base, s, f), f[:-5]))
    return found


def read_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


def row_of(harness, task_id, doc, json_path):
    """The row as the harness's to_bash_task_row fills it (metadata: the task JSON, compact)."""
    stem = json_path[:-5]
    size = os.path.getsize(stem + ".stdout") if os.path.exists(stem + ".stdout") else 0
    return (harness, doc["session_id"], task_id, hashlib.sha256(doc["project_root"].encode()).hexdigest()[:16],
            doc["command"], doc["workdir"], doc["status"], doc["exit_code"], doc["child_pid"], doc["pgid"],
            doc["started_at"], doc["finished_at"], stem + ".stdout", stem + ".stderr", int(doc["compressed"]),
            doc["timeout_ms"], int(doc["completion_delivered"]), size,
            json.dumps(doc, separators=(",", ":"), ensure_ascii=False))


def make_db(root, n):
    """aft.db for the bundles under root; returns (keys of bundle rows, sorted extra rows)."""
    own, extra = [], []
    for k, (harness, path, tid) in enumerate(bundles(root)):
        doc = read_json(path)
        own.append(row_of(harness, tid, doc, path))
        if k % 2 == 0:  # the same task id under the other harness: not on disk
            extra.append(row_of(OTHER[harness], tid, doc, path))
        else:  # a task the harness is creating in the same session
            other = dict(doc, task_id=f"bgb-{n + k:08x}", status="running", finished_at=None, exit_code=None,
                         child_pid=4242, completion_delivered=False)
            extra.append(row_of(harness, other["task_id"], other, path))
    db = sqlite3.connect(os.path.join(root, "aft.db"))
    if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
        raise SystemExit("mirror-bench: could not put aft.db in WAL mode")
    db.executescript(SCHEMA)
    with db:
        db.executemany(f"INSERT INTO bash_tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                       own + extra)
    db.close()
    return [r[:3] for r in own], sorted(extra)


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


# --- running ------------------------------------------------------------------------------------

def timed(cmd, stdin_path=None):
    """Runs cmd (stdout and stderr to /dev/null); wall (monotonic), exit code, user, sys, other CPU.
    Killed after RUN_TIMEOUT s (through a pidfd: never a reused pid)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    busy0 = benchlib.machine_busy()
    t0 = time.monotonic_ns()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pidfd = os.pidfd_open(p.pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    hung = not poller.poll(RUN_TIMEOUT * 1000)
    if hung:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.monotonic_ns() - t0) / 1e9
    os.close(pidfd)
    if stdin_path:
        stdin.close()
    p.returncode = code = os.waitstatus_to_exitcode(status)
    if hung:
        raise CheckFailed(f"`{' '.join(cmd)}` did not finish within {RUN_TIMEOUT:.0f} s (killed)")
    other = benchlib.machine_busy() - busy0 - ru.ru_utime - ru.ru_stime
    return {"wall": wall, "code": code, "user": ru.ru_utime, "sys": ru.ru_stime, "other": max(0.0, other)}


def add(a, b):
    return {k: (a[k] + b[k] if k != "code" else a[k] or b[k]) for k in a}


def sweep_cmd(root, extra=()):
    return [BIN, "sweep", "--root", root, *extra, "--log-target", "stderr"]


def check_run(root, json_args=()):
    """Untimed `--json` run on a copy: counts of (action, db_row), exit code."""
    r = subprocess.run(sweep_cmd(root, ["--json", *json_args]), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    counts = collections.Counter()
    for line in r.stdout.splitlines():
        o = json.loads(line)
        counts[o["action"] + (f" (db_row {o['db_row']})" if "db_row" in o else "")] += 1
    return r.returncode, dict(sorted(counts.items())), r.stderr.strip().splitlines()[:5]


def left(root):
    """(files, directories) under the bash-tasks trees."""
    files = dirs = 0
    for t in TREES:
        for _, ds, fs in os.walk(os.path.join(root, t)):
            files, dirs = files + len(fs), dirs + len(ds)
    return files, dirs


def db_state(root):
    """(integrity_check, rows sorted by key, wal bytes before we opened it); never creates the file."""
    path = os.path.join(root, "aft.db")
    if not os.path.exists(path):
        raise CheckFailed(f"{path} is gone")
    wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check"))
        rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM bash_tasks {ORDER}").fetchall()
    finally:
        db.close()
    return integrity, rows, wal


def need(cond, what):
    if not cond:
        raise CheckFailed(what)


def verify_removal(root, res, with_db, extra):
    need(res["code"] == 0, f"exit status {res['code']}, expected 0")
    files, dirs = left(root)
    need(files == 0 and dirs == 0, f"{files} files and {dirs} session directories left under the bash-tasks trees")
    if not with_db:
        need(not os.path.exists(os.path.join(root, "aft.db")), "an aft.db appeared in a root that had none")
        return
    integrity, rows, res["wal"] = db_state(root)
    need(integrity == "ok", f"PRAGMA integrity_check: {integrity}")
    if rows != extra:
        gone = len(set(extra) - set(rows))
        kept = len(set(rows) - set(extra))
        raise CheckFailed(f"aft.db rows: {len(rows)} left, expected exactly the {len(extra)} extra rows unchanged; "
                          f"{gone} extra rows missing or changed, {kept} rows left that are not extra rows "
                          "(rows of removed bundles, or changed extra rows)")


def verify_finalize(root, res, with_db, extra):
    need(res["code"] == 0, f"exit status {res['code']}, expected 0")
    docs = {}
    for harness, path, tid in bundles(root):
        doc = read_json(path)
        need(doc["status"] == "completed" and doc["exit_code"] == 0 and doc["child_pid"] is None,
             f"{path}: status {doc['status']}, exit_code {doc['exit_code']}, child_pid {doc['child_pid']}, "
             "expected completed, 0, null")
        docs[(harness, doc["session_id"], tid)] = doc
    need(len(docs) == M, f"{len(docs)} task JSONs found, expected {M}")
    if not with_db:
        need(not os.path.exists(os.path.join(root, "aft.db")), "an aft.db appeared in a root that had none")
        return
    integrity, rows, res["wal"] = db_state(root)
    need(integrity == "ok", f"PRAGMA integrity_check: {integrity}")
    need(len(rows) == 2 * M, f"{len(rows)} rows, expected {2 * M}")
    rest = []
    for r in rows:
        doc = docs.get(r[:3])
        if doc is None:
            rest.append(r)
            continue
        o = dict(zip(COLUMNS, r))
        need(o["status"] == "completed" and o["exit_code"] == 0 and o["pid"] is None
             and o["completed_at"] == doc["finished_at"]
             and o["completion_delivered"] == int(doc["completion_delivered"]),
             f"row {r[:3]}: status {o['status']}, exit_code {o['exit_code']}, pid {o['pid']}, completed_at "
             f"{o['completed_at']} (JSON finished_at {doc['finished_at']}), completion_delivered "
             f"{o['completion_delivered']}; expected completed, 0, NULL, finished_at, the JSON's")
        need(json.loads(o["metadata"]) == doc, f"row {r[:3]}: metadata differs from the JSON file")
    need(rest == extra, f"the {len(extra)} extra rows changed ({len(rest)} rows of other tasks left)")


def scenario(label, template, variants, extra, verify):
    """variants: {name: (with_db, function(root) -> result)}; interleaved, order rotated per round."""
    results = {name: [] for name in variants}
    order = list(variants)
    for r in range(ROUNDS):
        for name in order:
            with_db, run = variants[name]
            for attempt in range(REDO + 1):
                root = os.path.join(BASE, f"{label}-{r}-{list(variants).index(name)}-{attempt}")
                subprocess.run(["cp", "-a", template, root], check=True, timeout=1200)
                if not with_db:
                    os.unlink(os.path.join(root, "aft.db"))
                waited, _ = benchlib.settle(SETTLE, QUIET, QUIET_MAX)
                try:
                    res = run(root)
                    verify(root, res, with_db, extra)
                except CheckFailed as e:
                    raise CheckFailed(f"{label}, {name}, round {r + 1}: {e}\n  tree after the run: {root}\n"
                                      f"  template: {template}") from None
                res["round"], res["waited"] = r + 1, waited
                noisy = benchlib.noisy(res, QUIET) and attempt < REDO
                print(f"{label} round {r + 1} {name:40} {res['wall']:7.3f} s  CPU {res['user'] + res['sys']:6.3f} s"
                      f"  other CPU {res['other']:.2f} s  checks ok" + ("  NOISY: run again" if noisy else ""),
                      file=sys.stderr, flush=True)
                shutil.rmtree(root)
                if noisy:
                    REDONE[0] += 1
                    continue
                results[name].append(res)
                break
        order = order[1:] + order[:1]
    return results


# --- report ---------------------------------------------------------------------------------

def joined(runs, fmt):
    return ", ".join(fmt.format(**r) for r in runs)


def table(L, results, n, ref=None):
    L.append("| variant | wall per run (s) | median wall (s) | µs per bundle | CPU user+sys per run (s) | "
             "median CPU (s) | other CPU per run (s) |")
    L.append("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        L.append(f"| {name} | {joined(runs, '{wall:.3f}')} | **{med(runs):.3f}** | "
                 f"{med(runs) / n * 1e6:.0f} | {joined(runs, '{user:.2f}+{sys:.2f}')} | "
                 f"{cpu(runs):.3f} | {joined(runs, '{other:.2f}')} |")


def main():
    global SCHEMA
    SCHEMA = harness_schema()
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"mirror-bench: no executable at {BIN}")
    benchlib.fresh_bench_dir(BASE, MARKER)
    fs = try_out("findmnt", "-n", "-f", "-o", "SOURCE,FSTYPE,OPTIONS", "--target", BASE)
    model = benchlib.cpu_model()
    rev = try_out("git", "-C", REPO, "rev-parse", "--short", "HEAD")
    dirty = try_out("git", "-C", REPO, "status", "--porcelain", "--untracked-files=all", "--", "Sources", "Package.swift")
    bin_sha = try_out("sha256sum", BIN).split()[0][:16]
    versions = [try_out("swift", "--version").splitlines()[0] if shutil.which("swift") else "swift ?",
                try_out("find", "--version").splitlines()[0], "sqlite3 " + try_out("sqlite3", "--version").split()[0]]
    started = datetime.datetime.now(datetime.timezone.utc)

    # ---- removal ----
    tpl = os.path.join(BASE, "removal-template")
    make_tree(tpl, N, "delivered")
    keys, extra = make_db(tpl, N)
    need(len(keys) == N, f"template has {len(keys)} bundles, expected {N}")
    db_mib = os.path.getsize(os.path.join(tpl, "aft.db")) / 2**20
    sessions = sum(len(os.listdir(os.path.join(tpl, t))) for t in TREES)
    sql = os.path.join(BASE, "bulk-delete.sql")
    with open(sql, "w") as f:  # the floor: one statement, one transaction, same sync level as taskreaper's
        f.write("PRAGMA synchronous = NORMAL;\nBEGIN IMMEDIATE;\n"
                "DELETE FROM bash_tasks WHERE (harness, session_id, task_id) IN (VALUES\n"
                + ",\n".join(f"({', '.join(map(sql_literal, k))})" for k in keys) + ");\nCOMMIT;\n")
    probe = os.path.join(BASE, "removal-check")
    subprocess.run(["cp", "-a", tpl, probe], check=True, timeout=1200)
    rcode, rcounts, rerr = check_run(probe)
    shutil.rmtree(probe)
    if rcode != 0:
        raise CheckFailed(f"untimed --json sweep of a removal copy exited {rcode}: {rerr}")

    def find_then_sql(root):
        r1 = timed(["find", *(os.path.join(root, t) for t in TREES), "-mindepth", "1", "-delete"])
        r2 = timed(["sqlite3", "-bail", os.path.join(root, "aft.db")], stdin_path=sql)
        res = add(r1, r2)
        res["find"], res["sql"] = r1["wall"], r2["wall"]
        return res

    A, B, C = "(a) taskreaper sweep, aft.db", "(b) taskreaper sweep, no aft.db", "(c) find -delete + sqlite3 bulk DELETE"
    removal = scenario("removal", tpl, {A: (True, lambda root: timed(sweep_cmd(root))),
                                        B: (False, lambda root: timed(sweep_cmd(root))),
                                        C: (True, find_then_sql)}, extra, verify_removal)
    shutil.rmtree(tpl)

    # ---- finalization ----
    p = subprocess.Popen(["true"])
    p.wait()
    dead = p.pid  # existed a moment ago, reaped now (examples/make-demo-tree.py dead_pid)
    ftpl = os.path.join(BASE, "finalize-template")
    make_tree(ftpl, M, "live", pid=dead)
    ten_s_ago = time.time_ns() - 10 * 10**9
    for _, path, _ in bundles(ftpl):
        with open(path[:-5] + ".exit", "w") as f:
            f.write("0")
        os.utime(path[:-5] + ".exit", ns=(ten_s_ago, ten_s_ago))
    fkeys, fextra = make_db(ftpl, M)
    need(len(fkeys) == M, f"finalize template has {len(fkeys)} tasks, expected {M}")
    probe = os.path.join(BASE, "finalize-check")
    subprocess.run(["cp", "-a", ftpl, probe], check=True, timeout=1200)
    fcode, fcounts, ferr = check_run(probe, ["--finalize-grace", "0"])
    shutil.rmtree(probe)
    if fcode != 0:
        raise CheckFailed(f"untimed --json sweep of a finalize copy exited {fcode}: {ferr}")
    FA, FB = "taskreaper sweep --finalize-grace 0, aft.db", "taskreaper sweep --finalize-grace 0, no aft.db"
    fin = lambda root: timed(sweep_cmd(root, ["--finalize-grace", "0"]))
    finalize = scenario("finalize", ftpl, {FA: (True, fin), FB: (False, fin)}, fextra, verify_finalize)
    shutil.rmtree(ftpl)

    # ---- report ----
    finished = datetime.datetime.now(datetime.timezone.utc)
    a, b, c = removal[A], removal[B], removal[C]
    all_runs = [r for v in list(removal.values()) + list(finalize.values()) for r in v]
    L = [f"# aft.db mirror: taskreaper sweep with and without aft.db, {N} removals and {M} finalizations, "
         f"{ROUNDS} interleaved rounds", ""]
    L += benchlib.report_head(CMDLINE, started, finished, model, BASE, fs)
    L.append(f"taskreaper: `{BIN}` (sha256 {bin_sha}…), git {rev}"
             + (f" + uncommitted changes ({', '.join(l.split(None, 1)[1] for l in dirty.splitlines())})" if dirty not in ("", "?") else "")
             + f"; {versions[0]}  ")
    L.append(f"Peers: {versions[1]}; {versions[2]}  ")
    L.append(f"Quiet gate: before each timed run `sync`, {SETTLE} s rest"
             + (f", then wait until the rest of the machine used < {QUIET} cores (max {QUIET_MAX:.0f} s): total wait "
                f"{sum(r['waited'] for r in all_runs):.0f} s. A run during which other processes used > {QUIET} cores "
                f"on average is run again on a fresh copy (at most {REDO} times): {REDONE[0]} rerun."
                if QUIET > 0 else " (QUIET=0: no wait, no rerun)."))
    L += ["", "## Removal", ""]
    L.append(f"Tree: {N} delivered bundles ({4 * N} files) in {sessions} sessions under opencode/ and pi/, every "
             f"mtime 2 h old. aft.db ({db_mib:.1f} MiB, WAL): {N} rows of these bundles + {len(extra)} rows of "
             f"tasks not on disk (half: same session_id/task_id under the other harness; half: other task ids of "
             f"the same sessions, running) that must survive.")
    L += ["", "Commands (ROOT = a fresh `cp -a` of the template; for (b) its aft.db is deleted before the run):", "",
          "    (a) taskreaper sweep --root ROOT --log-target stderr 2>/dev/null",
          "    (b) the same, on a copy without aft.db",
          "    (c) find ROOT/opencode/bash-tasks ROOT/pi/bash-tasks -mindepth 1 -delete; sqlite3 -bail ROOT/aft.db < SQL",
          f"        SQL: PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE; DELETE FROM bash_tasks WHERE "
          f"(harness, session_id, task_id) IN (VALUES <the {N} keys>); COMMIT;", ""]
    table(L, removal, N)
    L.append("")
    L.append(f"(c) split per run, find + sqlite3 (s): {joined(c, '{find:.3f} + {sql:.3f}')}.  ")
    L.append(f"WAL left by (a) at exit (bytes): {joined(a, '{wal}')}; by (c): "
             f"{joined(c, '{wal}')}.")
    L.append("")
    L.append(f"Ratios of medians: **a/c = {med(a) / med(c):.2f}** (feature vs the floor), **a/b = {med(a) / med(b):.2f}** "
             f"(what aft.db costs the sweep: {(med(a) - med(b)) / N * 1e6:+.0f} µs per bundle, "
             f"{med(a) - med(b):+.2f} s). CPU (user+sys) ratios: a/c = {cpu(a) / cpu(c):.2f}, a/b = {cpu(a) / cpu(b):.2f} "
             f"({(cpu(a) - cpu(b)) / N * 1e6:+.0f} µs CPU per row).")
    if med(c) > 2 * cpu(c):  # wall far above CPU: the single-threaded find waits on the file system
        L.append("")
        L.append(f"Note: (c) spent {med(c) - cpu(c):.1f} s of its {med(c):.1f} s waiting, not computing: find unlinks "
                 "one file at a time, and each unlink waits on this file system (on ext4 with `discard`, a "
                 "synchronous discard per freed extent), while taskreaper's 8 threads overlap those waits. Here (c) is "
                 "a floor for CPU only, not for wall time; BENCH_DIR on a tmpfs gives the CPU-bound picture.")
    L.append("")
    L.append(f"Untimed `--json` check run on a copy: exit {rcode}, actions {rcounts}.")
    fa, fb = finalize[FA], finalize[FB]
    L += ["", "## Finalization", ""]
    L.append(f"Tree: {M} running tasks (child_pid = pgid = {dead}, a `true` that was reaped: the process is gone) in "
             f"{max(1, M // 20)} sessions, each with `<id>.exit` = `0` 10 s old; aft.db: their {M} rows (status "
             f"running, pid {dead}) + {len(fextra)} rows of tasks not on disk.")
    L += ["", "    taskreaper sweep --root ROOT --finalize-grace 0 --log-target stderr 2>/dev/null   (with / without aft.db)", ""]
    table(L, finalize, M)
    L.append("")
    L.append(f"Ratio of medians with/without aft.db: **{med(fa) / med(fb):.2f}** ({(med(fa) - med(fb)) / M * 1e6:+.0f} µs "
             f"per finalization); CPU {cpu(fa) / cpu(fb):.2f}. WAL left at exit (bytes): "
             f"{joined(fa, '{wal}')}.")
    L.append("")
    L.append(f"Untimed `--json` check run on a copy: exit {fcode}, actions {fcounts}.")
    L += ["", "## Method and checks", ""]
    L.append("- Trees from `scripts/bench/make-tree.py` (legacy `bash-tasks/` sessions moved to `pi/`), aft.db from "
             "`scripts/bench/mirror_bench.py` with `HarnessDatabase.schema`. Every timed run gets its own `cp -a` of "
             "the template (untimed, then `sync` and rest); variants interleaved, order rotated every round; page "
             "cache warm for all.")
    L.append("- Clock: `time.monotonic_ns()` around fork/exec/wait4 of the tool; CPU from wait4's rusage (for (c) the "
             "sum of find's and sqlite3's). `other CPU`: the rest of the machine during the run (/proc/stat).")
    L.append("- Verified after every run (a failed check stops the benchmark): exit status 0; no file or session "
             "directory left (removal); every JSON completed, exit 0, child_pid null (finalization); with aft.db: "
             "`PRAGMA integrity_check` = ok, the removed bundles' rows gone and the extra rows present and unchanged "
             "(all columns), every finalized row completed, exit_code 0, pid NULL, completed_at = the JSON's "
             "finished_at, completion_delivered and metadata (parsed) equal to the JSON file; without: no aft.db created.")
    report = "\n".join(L) + "\n"
    print(report)
    benchlib.write_report(report, REPO, "mirror", started)
    if not KEEP:
        shutil.rmtree(BASE, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as e:
        print(f"\nmirror-bench: CHECK FAILED: {e}\n  BENCH_DIR {BASE} is kept. Reproduce: cp -a TEMPLATE /tmp/x && "
              f"{BIN} sweep --root /tmp/x --json --log-target stderr (add --finalize-grace 0 for finalize)",
              file=sys.stderr)
        sys.exit(1)
