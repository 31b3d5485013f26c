#!/usr/bin/env python3
"""inotify queue overflow under watch: a rescan, and nothing missed.

usage: inotify-overflow.py [--rounds N] [--tasks T] [--queue Q] [--binary B] [--report]

/proc/sys/fs/inotify/max_queued_events is lowered to Q (default 16) only while `watch` starts
(an inotify instance keeps the limit it was created with), then restored at once, so nothing
else on the machine runs with it. Each round: T running tasks of a live process in fresh
session directories, looked at by watch; watch is stopped (SIGSTOP); every task gets its exit
marker (temp + rename, as the wrapper writes it: far more events than the queue holds); watch
is continued (SIGCONT). It must report `rescan` with reason overflow and finalize every task
(completed, exit 0) by itself, and still run at the end.

Exit status: 0 when every round held, 1 otherwise (printed), 77 when not root.
"""
import argparse, json, os, signal, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import mixedtree  # noqa: E402

QUEUE = "/proc/sys/fs/inotify/max_queued_events"


def statuses(paths):
    out = []
    for p in paths:
        try:
            with open(p, "rb") as f:
                out.append(json.loads(f.read()).get("status"))
        except (OSError, ValueError):
            out.append(None)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--queue", type=int, default=16)
    ap.add_argument("--binary")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    faultlib.require_root(f"lowering {QUEUE}")
    binary = faultlib.binary(a.binary)
    started = faultlib.utcnow()
    failures, rows = [], []
    live = mixedtree.LiveProcess()
    try:
        with faultlib.scratch_dir("taskreaper-overflow-") as base:
            root = os.path.join(base, "root")
            os.makedirs(root)
            log_path = os.path.join(base, "watch.log")
            with open(log_path, "w") as log:
                sock = os.path.join(base, "ctl.sock")
                with faultlib.sysctl(QUEUE, a.queue) as before:
                    watcher = faultlib.watching(binary, root, "--finalize-grace", "0s", log=log, control_socket=sock)
                    w = watcher.__enter__()
                # Restored: only our watch's instance has the small queue.
                with open(QUEUE) as f:
                    restored = f.read().strip() == before
                if not restored:
                    failures.append(f"{QUEUE} not restored")
                try:
                    for r in range(a.rounds):
                        jsons = []
                        for k in range(max(1, a.tasks // 20)):
                            session = faultlib.session_dir(root, f"{r:08x}{k:08x}")
                            for i in range(k, a.tasks, max(1, a.tasks // 20)):
                                path = os.path.join(session, f"bgb-{r:04x}{i:04x}.json")
                                faultlib.write_atomically(path, faultlib.task_json(
                                    f"bgb-{r:04x}{i:04x}", "running", live.started_at, child_pid=live.pid, pgid=live.pid), "fault")
                                jsons.append(path)
                        time.sleep(0.5)  # watch looks at the new tasks (alive: left running)
                        # The only rescans here are overflows: no SIGHUP, no root appearing, no 6 h interval.
                        rescans_before = faultlib.ctl_status(binary, sock)["counts"].get("rescan", 0)
                        w.send_signal(signal.SIGSTOP)
                        for path in jsons:
                            faultlib.write_atomically(path[:-len(".json")] + ".exit", "0", "wrapper")
                        w.send_signal(signal.SIGCONT)
                        t0 = time.monotonic()
                        done = faultlib.wait_for(lambda: statuses(jsons).count("completed") == len(jsons), 60, 0.05)
                        took = time.monotonic() - t0
                        overflows = faultlib.ctl_status(binary, sock)["counts"].get("rescan", 0) - rescans_before
                        rows.append(f"| {r + 1} | {len(jsons)} | {overflows} | {done} | {took:.2f} |")
                        print(rows[-1], flush=True)
                        if overflows < 1:
                            failures.append(f"round {r + 1}: no overflow rescan reported")
                        if not done:
                            left = [(os.path.relpath(p, root), st) for p, st in zip(jsons, statuses(jsons)) if st != "completed"]
                            failures.append(f"round {r + 1}: {len(jsons) - len(left)}/{len(jsons)} finalized within 60 s; "
                                            f"left: {left[:5]}")
                        if w.poll() is not None:
                            failures.append(f"round {r + 1}: watch exited {w.returncode}")
                            break
                finally:
                    watcher.__exit__(None, None, None)
    finally:
        live.close()
    table = ["| round | markers written while watch was stopped | overflow rescans | all finalized | seconds after SIGCONT |",
             "|---|---|---|---|---|"] + rows
    print("\n".join(table))
    for f in failures:
        print("FAIL:", f)
    if a.report:
        body = [f"max_queued_events {a.queue} for watch's instance only (restored right after its start)."] + [""] + table
        body += [""] + [f"- FAILED: {f}" for f in failures]
        faultlib.write_report("inotify-overflow", "inotify queue overflow under watch (issue 11, fault suite)",
                              "scripts/fault/inotify-overflow.py " + " ".join(sys.argv[1:]), started, body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
