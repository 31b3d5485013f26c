#!/usr/bin/env python3
"""Generates a benchmark storage root: N bundles of 4 files over S session directories.

usage: make-tree.py ROOT --bundles N [--sessions S] --kind delivered|live [--live-pid PID]
                    [--layout flat|directory]

Sessions (default S = N/20, at least 1) are named like the harness names them: the first 16
hex characters of SHA-256(session id). They alternate between ROOT/opencode/bash-tasks and
ROOT/pi/bash-tasks; one session in 50 goes to the legacy ROOT/bash-tasks. Bundles are dealt
to sessions in order, evenly: N/S each when S divides N, else some get one more (250 000
bundles in 100 000 sessions: 2 or 3 each, 1 000 000 files). Each bundle is

    <id>.json    schema 4, exactly as serde_json::to_vec_pretty writes PersistedTask
                 (struct key order, 2-space indent, no trailing newline)
    <id>.stdout  2-3.5 KiB
    <id>.stderr  a line
    <id>.exit    "0"            (delivered)   |   <id>.sh  the wrapper script   (live)

ids are `bgb-` + 8 hex digits.

--layout directory writes each task as the current harness does (CONTRACT section 7,
docs/formats.md section 2): `bash-<16 hex>/` with control/ (metadata.json schema 7,
command.sh, wrapper.sh, environment.bin, manifest.blake3) and io/ (stdout, stderr, exit,
sandbox-unavailable); directories 0700, files 0600: 9 files and 3 directories per task.

delivered: status completed, exit_code 0, child_pid null (mark_terminal clears it), pgid kept,
  completion_delivered true; every file and session directory has mtime/atime 2 h ago, so a
  sweep with the default 1 h retention removes everything.
live: status running, child_pid = pgid = --live-pid (start it with `setsid`, so it leads its
  own group), started_at = now; nothing aged. A sweep probes every task and changes nothing.

Only the os module writes (openat via dir_fd, no buffering layers): ~80 000 files in a few s.
"""
import argparse, hashlib, json, os, sys, time

# PersistedTask field order in the seed (serde serializes in declaration order).
KEYS = ["schema_version", "task_id", "session_id", "command", "mode", "workdir", "project_root",
        "status", "started_at", "finished_at", "duration_ms", "timeout_ms", "exit_code", "child_pid",
        "pgid", "completion_delivered", "notify_on_completion", "compressed", "pty_rows", "pty_cols",
        "status_reason"]

HOUR_MS = 3_600_000
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW


def tree_of(s):
    if s % 50 == 49:
        return "bash-tasks"
    return "opencode/bash-tasks" if s % 2 == 0 else "pi/bash-tasks"


# The current harness's record: schema 7, its struct's key order (docs/formats.md section 3.1).
KEYS7 = ["schema_version", "harness", "task_id", "session_id", "command", "mode", "workdir", "project_root",
         "status", "started_at", "finished_at", "duration_ms", "timeout_ms", "exit_code", "child_pid", "pgid",
         "completion_delivered", "notify_on_completion", "compressed", "pty_rows", "pty_cols", "sandbox_native",
         "status_reason", "call_key"]


def write_task_directory(session_fd, tid, values, i, delivered, old_ns, stdout_body, stderr_body):
    """<session>/<tid>/control/..., io/...; every file and directory aged when delivered."""
    values = dict(values, schema_version=7, harness="opencode", sandbox_native=False,
                  call_key={"requester": "first-party", "key": tid, "minted": True})
    if values["timeout_ms"] is None:
        values["timeout_ms"] = 1_800_000
    doc = json.dumps({k: values[k] for k in KEYS7}, indent=2, ensure_ascii=False).encode()
    os.mkdir(tid, 0o700, dir_fd=session_fd)
    task_fd = os.open(tid, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=session_fd)
    contents = {
        "control": (("metadata.json", doc), ("command.sh", values["command"].encode()),
                    ("wrapper.sh", b"#!/bin/sh\nexec_fd=3\n"), ("environment.bin", b"AFTENV1\0" + bytes(8)),
                    ("manifest.blake3", bytes(32))),
        "io": (("stdout", stdout_body), ("stderr", stderr_body), ("exit", b"0" if delivered else b""),
               ("sandbox-unavailable", b"")),
    }
    for sub, files in contents.items():
        os.mkdir(sub, 0o700, dir_fd=task_fd)
        sub_fd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=task_fd)
        for name, body in files:
            fd = os.open(name, FLAGS, 0o600, dir_fd=sub_fd)
            os.write(fd, body)
            os.close(fd)
            if delivered:
                os.utime(name, ns=(old_ns, old_ns), dir_fd=sub_fd, follow_symlinks=False)
        os.close(sub_fd)
        if delivered:
            os.utime(sub, ns=(old_ns, old_ns), dir_fd=task_fd, follow_symlinks=False)
    os.close(task_fd)
    if delivered:
        os.utime(tid, ns=(old_ns, old_ns), dir_fd=session_fd, follow_symlinks=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--bundles", type=int, required=True)
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--kind", choices=["delivered", "live"], required=True)
    ap.add_argument("--live-pid", type=int)
    ap.add_argument("--layout", choices=["flat", "directory"], default="flat")
    a = ap.parse_args()
    if a.kind == "live" and not a.live_pid:
        ap.error("--kind live needs --live-pid (a running process that leads its own group)")
    if a.bundles < 0:
        ap.error("--bundles must be >= 0")
    sessions = max(1, min(a.sessions or a.bundles // 20, max(a.bundles, 1)))
    delivered = a.kind == "delivered"

    t0 = time.monotonic()
    now_ms = int(time.time() * 1000)
    old_ns = (now_ms - 2 * HOUR_MS) * 1_000_000
    stdout_bodies = [("x" * 79 + "\n") * (k * 6 + 26) for k in range(4)]  # 2080..3520 bytes
    stderr_body = b"warning: unused variable `bench`\n"
    exit_body = b"0"
    sh_body = b"#!/bin/sh\n# wrapper written by the harness\nexec sleep 3600\n"

    made_dirs = []
    dfd, path = -1, None
    for i in range(a.bundles):
        s = i * sessions // a.bundles
        if s != (i - 1) * sessions // a.bundles or i == 0:
            if dfd >= 0:
                os.close(dfd)
            session_id = f"ses_bench_{s:06d}"
            name = hashlib.sha256(session_id.encode()).hexdigest()[:16]
            path = os.path.join(a.root, tree_of(s), name)
            os.makedirs(path, exist_ok=True)
            made_dirs.append(path)
            dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        tid = f"bgb-{i:08x}" if a.layout == "flat" else f"bash-{i:016x}"
        if delivered:
            finished = now_ms - 2 * HOUR_MS
            values = {"status": "completed", "started_at": finished - 95_000 - i % 1000,
                      "finished_at": finished, "duration_ms": 95_000 + i % 1000, "exit_code": 0,
                      "child_pid": None, "pgid": 40_000 + i % 20_000, "completion_delivered": True}
        else:
            values = {"status": "running", "started_at": now_ms, "finished_at": None,
                      "duration_ms": None, "exit_code": None, "child_pid": a.live_pid,
                      "pgid": a.live_pid, "completion_delivered": False}
        values.update({
            "schema_version": 4, "task_id": tid, "session_id": session_id,
            "command": f"cargo test --package bench -- case_{i} 2>&1 | tail -n 50",
            "mode": "pipes", "workdir": "/home/dev/project", "project_root": "/home/dev/project",
            "timeout_ms": None if i % 3 else 600_000, "notify_on_completion": True, "compressed": True,
            "pty_rows": None, "pty_cols": None, "status_reason": None,
        })
        if a.layout == "flat":
            doc = json.dumps({k: values[k] for k in KEYS}, indent=2, ensure_ascii=False).encode()
            files = ((".json", doc), (".stdout", stdout_bodies[i % 4].encode()), (".stderr", stderr_body),
                     (".exit", exit_body) if delivered else (".sh", sh_body))
            for ext, body in files:
                fd = os.open(tid + ext, FLAGS, 0o644 if ext != ".sh" else 0o755, dir_fd=dfd)
                os.write(fd, body)
                os.close(fd)
                if delivered:
                    os.utime(tid + ext, ns=(old_ns, old_ns), dir_fd=dfd, follow_symlinks=False)
        else:
            write_task_directory(dfd, tid, values, i, delivered, old_ns, stdout_bodies[i % 4].encode(), stderr_body)
    if dfd >= 0:
        os.close(dfd)
    if delivered:  # a session whose last write was 2 h ago has a 2 h old directory mtime
        for d in made_dirs:
            os.utime(d, ns=(old_ns, old_ns))
    print(f"make-tree: {a.bundles} {a.kind} {a.layout} tasks ({a.bundles * (4 if a.layout == 'flat' else 9)} files) in {len(made_dirs)} sessions "
          f"under {a.root} in {time.monotonic() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
