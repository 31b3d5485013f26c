"""A storage root with one of everything taskreaper acts on (and things it must leave), for the
fault drivers that compare an interrupted run with an uninterrupted one (crash-kill.py,
fs-faults.py). Optionally with the harness's `aft.db` in WAL mode, one row per task.

Every decision on this tree is the same whenever it is swept within the next hour: the times
are hours away from every threshold, and the live task's process outlives the run.
"""
import os, sqlite3, subprocess, time

import faultlib

SCHEMA = """CREATE TABLE bash_tasks (
    harness TEXT NOT NULL, session_id TEXT NOT NULL, task_id TEXT NOT NULL,
    project_key TEXT NOT NULL, command TEXT NOT NULL, cwd TEXT NOT NULL,
    status TEXT NOT NULL, exit_code INTEGER, pid INTEGER, pgid INTEGER,
    started_at INTEGER NOT NULL, completed_at INTEGER, stdout_path TEXT, stderr_path TEXT,
    compressed INTEGER NOT NULL, timeout_ms INTEGER, completion_delivered INTEGER NOT NULL,
    output_bytes INTEGER, metadata TEXT NOT NULL,
    PRIMARY KEY (harness, session_id, task_id))"""

# What each bundle is, in turn: (kind, what a sweep does with it).
KINDS = ["delivered_old",      # remove_bundle (delivered)
         "marker_zero",        # finalize completed
         "marker_three",       # finalize failed 3
         "killing_gone",       # write_kill_marker + finalize killed
         "running_gone",       # finalize failed (no marker)
         "pty_gone",           # finalize killed (pty lost)
         "delivered_recent",   # stays
         "live",               # stays (its process runs)
         "corrupt_old"]        # quarantine


class LiveProcess:
    """A process in its own group (setsid), as a live task's wrapper: killed on close()."""

    def __init__(self):
        self.process = subprocess.Popen(["setsid", "sleep", "100000"])
        self.started_at = faultlib.now_ms()
        deadline = time.monotonic() + 5
        while os.getpgid(self.process.pid) != self.process.pid and time.monotonic() < deadline:
            time.sleep(0.005)

    @property
    def pid(self):
        return self.process.pid

    def close(self):
        self.process.kill()
        self.process.wait()


def build(root, bundles, live, with_db=False, sessions=None):
    """Writes the tree; returns what it holds broken on purpose: {"orphans": member paths without a
    JSON, "corrupt": JSONs that do not parse}."""
    gone = faultlib.gone_pid()
    old_s, hour_ms = 3 * 3600, faultlib.HOUR_MS
    now = faultlib.now_ms()
    sessions = sessions or max(1, bundles // 8)
    rows, orphans, corrupt = [], [], []
    for s in range(sessions):
        harness = ["opencode", "pi", None][s % 3]
        session = faultlib.session_dir(root, f"{s:016x}", harness)
        # One stray temp of a gone writer and one orphan member per session, both old.
        faultlib.write(os.path.join(session, f".bgb-f{s:07x}.json.tmp.{gone}.bgb-f{s:07x}"), "{", age_s=old_s)
        orphan = os.path.join(session, f"bgb-e{s:07x}.stdout")
        faultlib.write(orphan, "orphan output", age_s=old_s)
        orphans.append(orphan)
        for i in range(s, bundles, sessions):
            kind = KINDS[i % len(KINDS)]
            task_id = f"bgb-{i:08x}"
            base = os.path.join(session, task_id)
            faultlib.write(base + ".stdout", f"output of {task_id}\n" * 20, age_s=old_s)
            faultlib.write(base + ".stderr", "", age_s=old_s)
            status, pid, delivered, exit_code, extra, marker, age = "running", gone, False, None, [], None, None
            started = now - 2 * hour_ms
            if kind == "delivered_old":
                status, delivered, exit_code, age = "completed", True, 0, old_s
            elif kind == "marker_zero":
                marker = "0"
            elif kind == "marker_three":
                marker = "3\n"
            elif kind == "killing_gone":
                status = "killing"
            elif kind == "pty_gone":
                extra = []
            elif kind == "delivered_recent":
                status, delivered, exit_code = "completed", True, 0
            elif kind == "live":
                pid, started = live.pid, live.started_at
            if marker is not None:
                faultlib.write(base + ".exit", marker, age_s=old_s)
            if kind == "corrupt_old":
                text = '{"schema_version": 4, "task_id": '
                corrupt.append(base + ".json")
            else:
                text = faultlib.task_json(task_id, status, started, child_pid=pid if status not in faultlib.TERMINAL else None,
                                          pgid=pid, delivered=delivered, exit_code=exit_code, extra=extra)
                if kind == "pty_gone":
                    text = text.replace('"mode": "pipes"', '"mode": "pty"')
            faultlib.write(base + ".json", text, age_s=age if age is not None else (old_s if kind == "corrupt_old" else None))
            if kind != "corrupt_old":
                rows.append((harness or "", "ses_fault", task_id, status, exit_code, None if status in faultlib.TERMINAL else pid,
                             pid, started, int(delivered), text))
    # Two empty sessions, old enough to go.
    for k in range(2):
        empty = faultlib.session_dir(root, f"{sessions + k:016x}", "opencode")
        os.utime(empty, (time.time() - old_s, time.time() - old_s))
    if with_db:
        create_db(os.path.join(root, "aft.db"), rows)
    return {"orphans": orphans, "corrupt": corrupt}


def create_db(path, rows):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(SCHEMA)
    db.executemany("""INSERT INTO bash_tasks (harness, session_id, task_id, project_key, command, cwd, status, exit_code,
                      pid, pgid, started_at, completed_at, stdout_path, stderr_path, compressed, timeout_ms,
                      completion_delivered, output_bytes, metadata)
                      VALUES (?, ?, ?, 'key', 'sleep 1', '/tmp', ?, ?, ?, ?, ?, NULL, '/tmp/o', '/tmp/e', 1, NULL, ?, 0, ?)""", rows)
    db.commit()
    db.close()


def db_state(root):
    """(integrity_check, rows) of <root>/aft.db, rows without the moment-dependent columns; None without a db."""
    path = os.path.join(root, "aft.db")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = set()
        for harness, session, task, status, code, pid, delivered in db.execute(
                "SELECT harness, session_id, task_id, status, exit_code, pid, completion_delivered FROM bash_tasks"):
            rows.add((harness, session, task, status, code, pid, delivered))
        return check, rows
    finally:
        db.close()
