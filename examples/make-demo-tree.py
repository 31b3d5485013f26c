#!/usr/bin/env python3
"""Builds a storage root that shows every kind of taskreaper action.

usage: make-demo-tree.py ROOT [--live-pid PID]

ROOT gets opencode/, pi/ and legacy bash-tasks trees with one bundle per situation of
CONTRACT.md section 5, and task directories of schemas 6 and 7 (the current harness's
layout, CONTRACT section 7 and docs/formats.md) in every state. --live-pid names a running process (started with setsid, so it
leads its own group) to stand for a task that is still alive and must be left alone.
"""
import argparse, hashlib, json, os, subprocess, time

NOW_MS = int(time.time() * 1000)
MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def session_dir(root, harness, session_id):
    tree = os.path.join(root, harness, "bash-tasks") if harness else os.path.join(root, "bash-tasks")
    path = os.path.join(tree, hashlib.sha256(session_id.encode()).hexdigest()[:16])
    os.makedirs(path, exist_ok=True)
    return path


def age(path, ms_ago):
    t = (NOW_MS - ms_ago) / 1000
    os.utime(path, (t, t), follow_symlinks=False)


def task(d, task_id, session_id, status, started_ago, json_ago, *, pid=None, mode="pipes",
         delivered=False, exit_code=None, timeout_ms=None, extra=None):
    doc = {
        "schema_version": 4, "task_id": task_id, "session_id": session_id,
        "command": f"demo {task_id}", "mode": mode, "workdir": "/tmp", "project_root": None,
        "status": status, "started_at": NOW_MS - started_ago,
        "finished_at": None if status in ("starting", "running", "killing") else NOW_MS - json_ago,
        "duration_ms": None, "timeout_ms": timeout_ms, "exit_code": exit_code,
        "child_pid": pid, "pgid": pid, "completion_delivered": delivered,
        "notify_on_completion": True, "compressed": True, "pty_rows": None, "pty_cols": None,
        "status_reason": None,
    }
    doc.update(extra or {})
    path = os.path.join(d, task_id + ".json")
    with open(path, "w") as f:
        f.write(json.dumps(doc, indent=2))
    age(path, json_ago)
    return path


def member(d, name, content, ms_ago):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(content)
    age(path, ms_ago)


def task_dir(d, n, session_id, status, started_ago, json_ago, *, schema=7, pid=None, mode="pipes",
             delivered=False, exit_code=None, exit_marker="", record=True):
    """<session>/bash-<16 hex>/ with control/ and io/ as the current harness writes them:
    directories 0700, files 0600, io/exit created empty, the record pretty-printed (serde's
    to_vec_pretty: 2-space indent, no trailing newline) in the harness's key order."""
    task_id = f"bash-{n:016x}"
    t = os.path.join(d, task_id)
    for sub in ("", "control", "io"):
        os.makedirs(os.path.join(t, sub), mode=0o700, exist_ok=True)
    files = {"control/command.sh": "sleep 1", "control/wrapper.sh": "#!/bin/sh\n",
             "control/environment.bin": "AFTENV1\0", "control/manifest.blake3": "x" * 32,
             "io/exit": exit_marker, "io/sandbox-unavailable": ""}
    for name in (["io/pty"] if mode == "pty" else ["io/stdout", "io/stderr"]):
        files[name] = ""
    for name, content in files.items():
        p = os.path.join(t, name)
        with open(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(content)
    if exit_marker:
        age(os.path.join(t, "io", "exit"), 10_000)  # past the finalize grace
    if record:
        doc = {"schema_version": schema}
        if schema >= 7:
            doc["harness"] = "opencode"
        doc.update({
            "task_id": task_id, "session_id": session_id, "command": f"demo {task_id}", "mode": mode,
            "workdir": "/tmp", "project_root": None, "status": status, "started_at": NOW_MS - started_ago,
            "finished_at": None if status in ("starting", "running", "killing") else NOW_MS - json_ago,
            "duration_ms": None, "timeout_ms": 1_800_000, "exit_code": exit_code, "child_pid": pid, "pgid": pid,
            "completion_delivered": delivered, "notify_on_completion": True, "compressed": True,
            "pty_rows": None, "pty_cols": None, "sandbox_native": False, "status_reason": None,
        })
        if schema >= 7:
            doc["call_key"] = {"requester": "first-party", "key": task_id, "minted": True}
        path = os.path.join(t, "control", "metadata.json")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(json.dumps(doc, indent=2))
        age(path, json_ago)
    age(os.path.join(t, "control"), json_ago)
    return t


def dead_pid():
    """A pid that existed a moment ago and is gone (reaped) now."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--live-pid", type=int)
    a = ap.parse_args()
    root = a.root
    gone = dead_pid()

    oc = session_dir(root, "opencode", "ses_demo_opencode")
    # running, process gone, marker "0" written 10 s ago -> completed
    task(oc, "bgb-00000001", "ses_demo_opencode", "running", 5 * MIN, 5 * MIN, pid=gone)
    member(oc, "bgb-00000001.stdout", "hello\n", 10_000)
    member(oc, "bgb-00000001.exit", "0", 10_000)
    # running, gone, marker "3" -> failed with exit code 3
    task(oc, "bgb-00000002", "ses_demo_opencode", "running", 5 * MIN, 5 * MIN, pid=gone)
    member(oc, "bgb-00000002.exit", "3\n", 10_000)
    # running, gone, no marker -> failed: process exited without exit marker
    task(oc, "bgb-00000003", "ses_demo_opencode", "running", 5 * MIN, 5 * MIN, pid=gone)
    member(oc, "bgb-00000003.sh", "#!/bin/sh\nsleep 100\n", 5 * MIN)
    # killing, gone, no marker -> killed, plus a `killed` marker
    task(oc, "bgb-00000004", "ses_demo_opencode", "killing", 5 * MIN, 5 * MIN, pid=gone)
    # running pty, gone -> killed: pty_lost_on_bridge_restart
    task(oc, "bgb-00000005", "ses_demo_opencode", "running", 5 * MIN, 5 * MIN, pid=gone, mode="pty")
    member(oc, "bgb-00000005.pty", "$ top\n", 5 * MIN)
    # starting for 10 min without a pid -> failed: spawn aborted
    task(oc, "bgb-00000006", "ses_demo_opencode", "starting", 10 * MIN, 10 * MIN)
    # a task whose process is alive: left alone
    if a.live_pid:
        task(oc, "bgb-00000007", "ses_demo_opencode", "running", 0, 0, pid=a.live_pid,
             extra={"started_at": NOW_MS - 1000})
    # a stray temp file of a writer that is gone, 2 min old -> removed
    member(oc, f".bgb-00000001.json.tmp.{gone}.bgb-00000001", "{", 2 * MIN)
    # a newer harness's unknown key survives finalization
    task(oc, "bgb-00000008", "ses_demo_opencode", "running", 5 * MIN, 5 * MIN, pid=gone,
         extra={"x_future": {"kept": [1, 2, 3]}})
    member(oc, "bgb-00000008.exit", "killed", 10_000)

    pi = session_dir(root, "pi", "ses_demo_pi")
    # delivered 2 h ago -> bundle removed (all members, .ps1/.bat/.sh included)
    task(pi, "bash-0000000a", "ses_demo_pi", "completed", 3 * HOUR, 2 * HOUR, delivered=True, exit_code=0)
    for ext in ("stdout", "stderr", "exit", "sh", "ps1", "bat"):
        member(pi, f"bash-0000000a.{ext}", "0" if ext == "exit" else "x", 2 * HOUR)
    # never delivered, 31 days old -> removed as abandoned
    task(pi, "bash-0000000b", "ses_demo_pi", "failed", 32 * DAY, 31 * DAY, exit_code=1)
    # delivered 10 min ago -> kept until the retention (1 h) is over
    task(pi, "bash-0000000c", "ses_demo_pi", "completed", 20 * MIN, 10 * MIN, delivered=True, exit_code=0)
    # output whose JSON is gone, 2 h old -> orphan files removed
    member(pi, "bash-0000000d.stdout", "lost\n", 2 * HOUR)
    member(pi, "bash-0000000d.exit", "0", 2 * HOUR)
    # corrupt JSON: young -> reported; 25 h old -> quarantined with its bundle
    member(pi, "bash-0000000e.json", '{"schema_version": 4, "task_', MIN)
    member(pi, "bash-0000000f.json", "not json at all", 25 * HOUR)
    member(pi, "bash-0000000f.stdout", "x", 25 * HOUR)
    # a schema this version does not know -> never touched
    task(pi, "bash-00000010", "ses_demo_pi", "completed", 3 * HOUR, 2 * HOUR, delivered=True,
         extra={"schema_version": 9})

    # The current harness's task directories (schema 6 and 7), beside flat bundles.
    cur = session_dir(root, "opencode", "ses_demo_current")
    # running, gone, exit code 3 written in place into io/exit -> failed 3 (schema kept)
    task_dir(cur, 0x21, "ses_demo_current", "running", 5 * MIN, 5 * MIN, pid=gone, exit_marker="3")
    # running, gone, `killed` written in place, schema 7 -> killed with exit code 137
    task_dir(cur, 0x22, "ses_demo_current", "running", 5 * MIN, 5 * MIN, pid=gone, exit_marker="killed")
    # running, gone, io/exit empty -> fate_unknown: "daemon restarted, process fate unknown, ..."
    task_dir(cur, 0x23, "ses_demo_current", "running", 5 * MIN, 5 * MIN, schema=6, pid=gone)
    # killing, gone, io/exit empty -> `killed` written into io/exit in place, killed
    task_dir(cur, 0x24, "ses_demo_current", "killing", 5 * MIN, 5 * MIN, pid=gone)
    # running, its process alive -> left alone (and schema 6+ has no 24 h rule)
    if a.live_pid:
        task_dir(cur, 0x25, "ses_demo_current", "running", 1000, 1000, pid=a.live_pid)
    # delivered 2 h ago -> removed through a .aft-tmp-<32 hex> tombstone
    task_dir(cur, 0x26, "ses_demo_current", "completed", 3 * HOUR, 2 * HOUR, delivered=True, exit_code=0)
    # fate_unknown, delivered 2 h ago (schema 6) -> removed
    task_dir(cur, 0x27, "ses_demo_current", "fate_unknown", 3 * HOUR, 2 * HOUR, schema=6, delivered=True)
    # a directory whose record never came, 10 min old -> reported (not initialising any more)
    stale = task_dir(cur, 0x28, "ses_demo_current", "running", 10 * MIN, 10 * MIN, record=False)
    age(os.path.join(stale, "control"), 10 * MIN)
    # ... and one 25 h old -> quarantined as <id>.invalid-<16 hex>
    ancient = task_dir(cur, 0x29, "ses_demo_current", "running", 25 * HOUR, 25 * HOUR, record=False)
    age(os.path.join(ancient, "control"), 25 * HOUR)
    # a removal interrupted 2 min ago (a tombstone) -> finished
    tomb = os.path.join(cur, ".aft-tmp-" + "ab" * 16)
    os.makedirs(os.path.join(tomb, "io"), exist_ok=True)
    member(os.path.join(tomb, "io"), "stdout", "x", 2 * MIN)
    age(tomb, 2 * MIN)

    # legacy layout: a delivered bundle that leaves its session empty -> session dir removed
    legacy = session_dir(root, None, "ses_demo_legacy")
    task(legacy, "bgb-00000011", "ses_demo_legacy", "killed", 3 * HOUR, 2 * HOUR, delivered=True)
    # an empty session directory, 2 h old -> removed
    empty = session_dir(root, None, "ses_demo_empty")
    age(empty, 2 * HOUR)
    # a session "directory" that is a symbolic link -> never followed, reported
    os.makedirs(os.path.join(root, "elsewhere"), exist_ok=True)
    link = os.path.join(root, "bash-tasks", "00000000deadbeef")
    if not os.path.lexists(link):
        os.symlink(os.path.join(root, "elsewhere"), link)


if __name__ == "__main__":
    main()
