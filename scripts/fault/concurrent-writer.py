#!/usr/bin/env python3
"""Lost updates against an atomic-rename writer (issue 11.2): counted, for sweep and watch.

usage: concurrent-writer.py [--seconds S] [--rounds R] [--tasks N] [--sessions K]
                            [--mode sweep|watch|both] [--binary B] [--old-binary B]
                            [--dir DIR] [--report]

A writer process plays the harness: round-robin over N running tasks (K session directories),
it reads each JSON and writes it again by temp + rename (a new inode) with its own sequence
number `writer_seq` incremented, as the harness rewrites a running task. Each task has an exit
marker `0` and a gone process, so taskreaper finalizes it (completed) whenever it looks; the
writer, finding a task finalized, sets it running again (next sequence number), so finalizations
go on for the whole run.

A lost update is a writer's version replaced by our finalization of an older version: the
writer finds a terminal JSON whose `writer_seq` is below the last one it renamed into place. A
taskreaper that puts the writer's version back may show its own finalization for a moment
first: so the writer leaves that task alone and looks again on each round (for up to 0.5 s,
going on with the others meanwhile); it counts "seen, then put back" when its last version (or a
finalization of it) reappears, and "lost" only when it never does. Torn or unparseable JSONs are counted too (must be 0).

Phases alternate binaries (with --old-binary: new, old, new, old, ...) and modes, each on a
fresh tree, `--seconds` each, `--rounds` times: both binaries see the same machine state.
taskreaper runs with --finalize-grace 0s: `sweep` in a loop, or one `watch` for the phase.
With --report the table goes to bench-results/lost-updates-<date>.md.

Exit status: 0 when the binary under test (--binary) lost nothing, 1 otherwise.
"""
import argparse, json, os, random, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402


# --- the writer (a process of its own: --writer) -----------------------------------------------

def writer(root, seconds):
    """Plays the harness over every task under root for `seconds`; prints its counts as JSON."""
    tasks = []
    for session in faultlib.session_dirs(root):
        tasks += [os.path.join(session, n) for n in sorted(os.listdir(session)) if n.endswith(".json")]
    # The version the writer last put in place, and the highest number it ever issued.
    last = {path: 0 for path in tasks}
    issued = dict(last)
    # A finalization of an older version, waiting (up to 0.5 s) for the writer's own to come back.
    suspect = {}
    counts = {"writes": 0, "finalized_seen": 0, "lost": 0, "seen_then_put_back": 0, "corrupt": 0, "absent": 0}
    lost_examples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or suspect:
        random.shuffle(tasks)
        for path in tasks:
            doc = read(path, counts)
            if doc is None:
                continue
            seq = doc.get("writer_seq", -1)
            if path in suspect:
                if seq >= last[path]:
                    counts["seen_then_put_back"] += 1
                    del suspect[path]
                elif time.monotonic() > suspect[path]:
                    counts["lost"] += 1
                    if len(lost_examples) < 5:
                        lost_examples.append(f"{path}: finalized from writer_seq {seq} over the writer's {last[path]}")
                    del suspect[path]
                    last[path] = seq  # what is there now is what the writer goes on from
                else:
                    continue  # not written while it is being judged
            elif doc.get("status") in faultlib.TERMINAL:
                if seq < last[path]:
                    suspect[path] = time.monotonic() + 0.5
                    continue
                counts["finalized_seen"] += 1
            if time.monotonic() >= deadline:
                continue  # only judging what is left
            # A new version: running again (a finalized task is set running, so it is finalized again).
            issued[path] += 1
            last[path] = issued[path]
            faultlib.write_atomically(path, running(doc, last[path]), "writer")
            counts["writes"] += 1
        if time.monotonic() >= deadline and suspect:
            time.sleep(0.001)
    counts["lost_examples"] = lost_examples
    print(json.dumps(counts), flush=True)


def read(path, counts):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        counts["absent"] += 1
    except ValueError:
        counts["corrupt"] += 1
    return None


def running(doc, seq):
    """The task as the writer rewrites it: running, its process and marker unchanged, seq n."""
    pid = doc.get("pgid")
    extra = [("writer_seq", seq)]
    return faultlib.task_json(doc["task_id"], "running", doc["started_at"], child_pid=pid, pgid=pid,
                              session_id=doc.get("session_id", "ses_fault"), extra=extra)


# --- one phase --------------------------------------------------------------------------------

def make_tree(root, tasks, sessions):
    pid = faultlib.gone_pid()
    started = faultlib.now_ms() - 60_000
    for k in range(sessions):
        session = faultlib.session_dir(root, f"{k:016x}")
        for i in range(k, tasks, sessions):
            task_id = f"bgb-{i:08x}"
            faultlib.write(os.path.join(session, f"{task_id}.exit"), "0", age_s=3600)
            faultlib.write(os.path.join(session, f"{task_id}.json"),
                           faultlib.task_json(task_id, "running", started, child_pid=pid, pgid=pid, extra=[("writer_seq", 0)]))


def phase(binary, mode, seconds, base, tasks, sessions):
    """One phase on a fresh tree; returns the writer's counts plus taskreaper's finalizations and errors."""
    root = os.path.join(base, "root")
    subprocess.run(["rm", "-rf", "--one-file-system", root])
    os.makedirs(root)
    make_tree(root, tasks, sessions)
    log_path = os.path.join(base, "watch.log")
    w = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--writer", root, "--seconds", str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    finalized = errors = passes = 0
    error_examples = []
    if mode == "sweep":
        while w.poll() is None:
            p = faultlib.run(binary, "sweep", "--root", root, "--json", "--finalize-grace", "0s", "--log-target", "stderr")
            for line in faultlib.json_lines(p.stdout):
                if line.get("action") == "summary":
                    finalized += line["counts"].get("finalize", 0)
                    errors += line["counts"].get("error", 0)
                elif line.get("action") == "error" and len(error_examples) < 3:
                    error_examples.append(line.get("message", ""))
            passes += 1
    else:
        sock = os.path.join(base, "ctl.sock")
        with open(log_path, "w") as log, faultlib.watching(binary, root, "--finalize-grace", "0s", log=log, control_socket=sock):
            w.wait()
            counts = faultlib.ctl_status(binary, sock)["counts"]
            finalized, errors = counts.get("finalize", 0), counts.get("error", 0)
        with open(log_path, errors="replace") as log:
            error_examples = [" ".join(line.split()) for line in log if line.split()[:2] == ["taskreaper:", "error"]][:3]
    out, _ = w.communicate()
    counts = json.loads(out.strip().splitlines()[-1])
    counts.update(finalized=finalized, errors=errors, passes=passes, error_examples=error_examples,
                  tree_problems=len(faultlib.tree_problems(root)))
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writer", metavar="ROOT", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--mode", choices=["sweep", "watch", "both"], default="both")
    ap.add_argument("--binary")
    ap.add_argument("--old-binary", help="a build from before the fix, run in alternate phases for comparison")
    ap.add_argument("--dir", default="/var/tmp", help="where the scratch tree goes (its file system is the one measured)")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    if a.writer:
        return writer(a.writer, a.seconds)

    started = faultlib.utcnow()
    binaries = [("new", faultlib.binary(a.binary))] + ([("old", os.path.abspath(a.old_binary))] if a.old_binary else [])
    modes = ["sweep", "watch"] if a.mode == "both" else [a.mode]
    keys = ["finalized", "writes", "lost", "seen_then_put_back", "corrupt", "errors", "tree_problems"]
    totals = {(b, m): dict.fromkeys(keys, 0) for b, _ in binaries for m in modes}
    examples, error_examples = [], []
    os.makedirs(a.dir, exist_ok=True)
    with faultlib.scratch_dir(prefix="taskreaper-lostupdate-", parent=a.dir) as base:
        for r in range(a.rounds):
            for mode in modes:
                for name, path in binaries:
                    c = phase(path, mode, a.seconds, base, a.tasks, a.sessions)
                    for k in keys:
                        totals[(name, mode)][k] += c[k]
                    examples += [f"{name} {mode}: {e}" for e in c["lost_examples"]]
                    error_examples += [f"{name} {mode}: {e}" for e in c["error_examples"]]
                    print(f"round {r + 1} {name:3} {mode:5}: " + ", ".join(f"{k} {c[k]}" for k in keys), flush=True)
    lines = ["| binary | mode | finalizations | writer rewrites | lost updates | seen, then put back | corrupt reads | errors | tree problems |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (name, mode), t in totals.items():
        lines.append(f"| {name} | {mode} | " + " | ".join(str(t[k]) for k in keys) + " |")
    print("\n".join(lines + [f"error: {e}" for e in error_examples[:10]]))
    if a.report:
        fs = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", a.dir], capture_output=True, text=True).stdout.strip()
        body = [f"Scratch dir: `{a.dir}` ({fs}); {a.tasks} tasks in {a.sessions} sessions; {a.rounds} round(s) of "
                f"{a.seconds:g} s per binary and mode, phases alternating.", "",
                "new: " + binaries[0][1] + (f"; old: {binaries[1][1]} (the commit before the fix)" if a.old_binary else ""), ""]
        body += lines + ["", "A lost update: the writer's version replaced by our finalization of an older one, never put back."
                         " \"Seen, then put back\": the writer read our finalization of an older version, and its own"
                         " version was back at the file within 0.5 s (the put-back window, CheckedReplace.swift)."]
        if examples:
            body += ["", "Lost updates, examples:", ""] + [f"- {e}" for e in examples[:10]]
        if error_examples:
            body += ["", "Errors, examples:", ""] + [f"- {e}" for e in error_examples[:10]]
        faultlib.write_report("lost-updates", "Lost updates against an atomic-rename writer (issue 11.2)",
                              "scripts/fault/concurrent-writer.py " + " ".join(sys.argv[1:]), started, body)
    new_lost = sum(t["lost"] + t["corrupt"] for (b, _), t in totals.items() if b == "new")
    return 1 if new_lost else 0


if __name__ == "__main__":
    sys.exit(main())
