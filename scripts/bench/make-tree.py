#!/usr/bin/env python3
"""Generates a benchmark storage root: N bundles of 4 files over S session directories.

usage: make-tree.py ROOT --bundles N [--sessions S] --kind delivered|live [--live-pid PID]

delivered: completed tasks, completion_delivered, every mtime 2 h old: a sweep removes all.
live: running tasks whose child_pid/pgid is PID (a real process), no marker: a sweep
probes each one and must leave everything as it is.
Bundles go to opencode/bash-tasks and pi/bash-tasks, plus 1 in 50 sessions in the legacy
bash-tasks; each has <id>.json (schema 4, serde's pretty format), .stdout (2 KiB), .stderr,
and .exit ("0") for delivered or .sh for live.
"""
import argparse, json, os, time

KEYS = ["schema_version", "task_id", "session_id", "command", "mode", "workdir", "project_root",
        "status", "started_at", "finished_at", "duration_ms", "timeout_ms", "exit_code", "child_pid",
        "pgid", "completion_delivered", "notify_on_completion", "compressed", "pty_rows", "pty_cols",
        "status_reason"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--bundles", type=int, required=True)
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--kind", choices=["delivered", "live"], required=True)
    ap.add_argument("--live-pid", type=int)
    a = ap.parse_args()
    sessions = a.sessions or max(1, a.bundles // 20)
    now = int(time.time() * 1000)
    old = (now - 2 * 3600 * 1000) / 1000
    per = -(-a.bundles // sessions)
    for i in range(a.bundles):
        s = i // per
        tree = "bash-tasks" if s % 50 == 49 else ("opencode/bash-tasks" if s % 2 == 0 else "pi/bash-tasks")
        d = os.path.join(a.root, tree, f"{s:016x}")
        if i % per == 0:
            os.makedirs(d, exist_ok=True)
        tid = f"bgb-{i:08x}"
        delivered = a.kind == "delivered"
        values = {
            "schema_version": 4, "task_id": tid, "session_id": f"ses_bench_{s}",
            "command": f"cargo test --package bench -- case_{i}", "mode": "pipes", "workdir": "/work/project",
            "project_root": "/work/project", "status": "completed" if delivered else "running",
            "started_at": now - (7_300_000 if delivered else 0),
            "finished_at": now - 7_200_000 if delivered else None,
            "duration_ms": 100_000 if delivered else None, "timeout_ms": None,
            "exit_code": 0 if delivered else None,
            "child_pid": None if delivered else a.live_pid, "pgid": 4242 if delivered else a.live_pid,
            "completion_delivered": delivered, "notify_on_completion": True, "compressed": True,
            "pty_rows": None, "pty_cols": None, "status_reason": None,
        }
        doc = json.dumps({k: values[k] for k in KEYS}, indent=2)
        files = [("json", doc), ("stdout", "x" * 2048), ("stderr", "warning: bench\n"),
                 ("exit", "0") if delivered else ("sh", "#!/bin/sh\nsleep 600\n")]
        for ext, content in files:
            p = os.path.join(d, f"{tid}.{ext}")
            with open(p, "w") as f:
                f.write(content)
            if delivered:
                os.utime(p, (old, old))


if __name__ == "__main__":
    main()
