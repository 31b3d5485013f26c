#!/usr/bin/env python3
"""A full or read-only file system under sweep and watch: errors per item, nothing torn, recovery.

usage: fs-faults.py enospc|inodes|readonly|all [--phases sweep,watch] [--tasks N] [--retry-wait S]
                    [--binary B] [--report]

Each case builds its tree on a small tmpfs of its own (root only; always unmounted):

  enospc    N tasks to finalize (running, process gone, marker 0) and aft.db, then a file that
            takes every free block. `sweep` must exit 1 with one error per task naming the file
            and "No space left on device", leave every JSON byte for byte as it was, no temp, the
            database intact. `watch` started on the full disk must stay up, and once the space is
            freed (no event in any session directory) finish every task by itself.
  inodes    the same with every free inode taken (tmpfs nr_inodes) instead of every block.
  readonly  the mixed tree (mixedtree.py: removals, finalizations, strays, quarantine, aft.db),
            then `mount -o remount,ro`. `sweep` must exit 1 and change nothing at all;
            `sweep --dry-run` says what the real run could not do (exit 1) and writes nothing;
            `watch` stays up and, once remounted read-write, converges by itself.

Every case ends with a clean sweep compared with the same tree swept on a healthy file system.
Exit status: 0 when everything held, 1 otherwise (printed), 77 when not root.
"""
import argparse, errno, os, shutil, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import mixedtree  # noqa: E402

POLICY = ["--finalize-grace", "0s"]


class Checks:
    def __init__(self, case):
        self.case, self.failures, self.facts = case, [], []

    def expect(self, ok, what):
        if not ok:
            self.failures.append(f"{self.case}: {what}")
        return ok

    def fact(self, text):
        self.facts.append(text)
        print(f"{self.case}: {text}", flush=True)


def finalizable_tree(root, tasks):
    pid = faultlib.gone_pid()
    session = faultlib.session_dir(root)
    rows = []
    for i in range(tasks):
        task_id = f"bgb-{i:08x}"
        faultlib.write(os.path.join(session, f"{task_id}.exit"), "0", age_s=3600)
        text = faultlib.task_json(task_id, "running", faultlib.now_ms() - 60_000, child_pid=pid, pgid=pid)
        faultlib.write(os.path.join(session, f"{task_id}.json"), text)
        rows.append(("opencode", "ses_fault", task_id, "running", None, pid, pid, 1, 0, text))
    mixedtree.create_db(os.path.join(root, "aft.db"), rows)


def raw_files(root):
    """Every file's bytes (temps included): 'changed nothing at all'."""
    out = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def fill(mountpoint, what):
    """Takes every free block (one growing file) or every free inode (empty files)."""
    if what == "blocks":
        with open(os.path.join(mountpoint, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
        return [os.path.join(mountpoint, "filler")]
    paths, k = [], 0
    os.makedirs(os.path.join(mountpoint, "fillers"))
    while True:
        path = os.path.join(mountpoint, "fillers", str(k))
        try:
            open(path, "wb").close()
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            return paths
        paths.append(path)
        k += 1


def expected_for(tree_root, binary, scratch):
    """The tree swept once on a healthy file system (a copy in scratch)."""
    copy = os.path.join(scratch, "expected")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tree_root, copy, symlinks=True)
    faultlib.run(binary, "sweep", "--root", copy, *POLICY, check_status=(0,))
    return faultlib.snapshot(copy), mixedtree.db_state(copy)


def converged(root, expected):
    return faultlib.snapshot(root) == expected[0] and mixedtree.db_state(root) == expected[1]


def full_disk(case, binary, tasks, retry_wait, phases):
    c = Checks(case)
    with faultlib.scratch_dir() as scratch:
        for phase in phases:
            limit = "size=1M" if case == "enospc" else f"size=16M,nr_inodes={tasks * 3 + 40}"
            with faultlib.tmpfs(limit) as mnt:
                root = os.path.join(mnt, "root")
                os.makedirs(root)
                finalizable_tree(root, tasks)
                expected = expected_for(root, binary, scratch)
                before = raw_files(root)
                fillers = fill(mnt, "blocks" if case == "enospc" else "inodes")
                if phase == "sweep":
                    p = faultlib.run(binary, "sweep", "--root", root, "--json", *POLICY)
                    errors = [l for l in faultlib.json_lines(p.stdout) if l.get("action") == "error"]
                    c.fact(f"sweep on a full file system: exit {p.returncode}, {len(errors)} errors for {tasks} tasks")
                    c.expect(p.returncode == 1, f"sweep exit {p.returncode}, not 1: {p.stderr[-500:]}")
                    c.expect(len(errors) >= tasks, f"{len(errors)} errors for {tasks} tasks")
                    c.expect(all("No space left on device" in e.get("error", "") and e.get("path") for e in errors),
                             f"an error without the file or ENOSPC: {errors[:1]}")
                    c.expect(raw_files(root) == before, "the tree changed (a JSON, a temp left, the database)")
                    for path in fillers:
                        os.unlink(path)
                    c.expect(mixedtree.db_state(root)[0] == "ok", "aft.db integrity")
                    faultlib.run(binary, "sweep", "--root", root, *POLICY, check_status=(0,))
                    c.expect(converged(root, expected), "after freeing space, one sweep did not converge: "
                             + "; ".join(faultlib.diff(faultlib.snapshot(root), expected[0], 3)))
                else:
                    with open(os.path.join(scratch, "watch.log"), "w") as log, \
                            faultlib.watching(binary, root, *POLICY, log=log) as w:
                        c.expect(w.poll() is None, "watch died on a full file system")
                        for path in fillers:
                            os.unlink(path)
                        t0 = time.monotonic()
                        done = faultlib.wait_for(lambda: converged(root, expected), retry_wait, 0.2)
                        c.fact(f"watch: space freed, converged by itself: {done}"
                               + (f" after {time.monotonic() - t0:.1f} s" if done else f" (not within {retry_wait} s)"))
                        c.expect(done, f"watch did not finish the tasks within {retry_wait} s of the space coming back")
                        c.expect(w.poll() is None, "watch died")
    return c


def readonly(binary, tasks, retry_wait, phases):
    c = Checks("readonly")
    live = mixedtree.LiveProcess()
    try:
        with faultlib.scratch_dir() as scratch:
            for phase in phases:
                with faultlib.tmpfs("size=64M") as mnt:
                    root = os.path.join(mnt, "root")
                    os.makedirs(root)
                    mixedtree.build(root, tasks, live, with_db=True)
                    expected = expected_for(root, binary, scratch)
                    faultlib.remount(mnt, "ro")
                    before = raw_files(root)
                    if phase == "sweep":
                        p = faultlib.run(binary, "sweep", "--root", root, "--json", *POLICY)
                        errors = [l for l in faultlib.json_lines(p.stdout) if l.get("action") == "error"]
                        c.fact(f"sweep on a read-only file system: exit {p.returncode}, {len(errors)} errors")
                        c.expect(p.returncode == 1, f"sweep exit {p.returncode}, not 1: {p.stderr[-500:]}")
                        c.expect(all(e.get("path") and e.get("error") for e in errors), "an error without file or reason")
                        c.expect(raw_files(root) == before, "a read-only tree changed")
                        # A dry run says what the real run could not do (exit 1), and writes nothing.
                        d = faultlib.run(binary, "sweep", "--root", root, "--json", "--dry-run", *POLICY)
                        would_fail = [l for l in faultlib.json_lines(d.stdout) if l.get("action") == "error"]
                        c.fact(f"sweep --dry-run: exit {d.returncode}, {len(would_fail)} errors for what the real run could not do")
                        c.expect(d.returncode == 1 and would_fail and all(e.get("path") for e in would_fail),
                                 f"dry run exit {d.returncode} with {len(would_fail)} errors: {d.stderr[-300:]}")
                        c.expect(raw_files(root) == before, "a dry run changed a read-only tree")
                        faultlib.remount(mnt, "rw")
                        faultlib.run(binary, "sweep", "--root", root, *POLICY, check_status=(0,))
                        c.expect(converged(root, expected), "after remounting rw, one sweep did not converge: "
                                 + "; ".join(faultlib.diff(faultlib.snapshot(root), expected[0], 3)))
                    else:
                        with open(os.path.join(scratch, "watch.log"), "w") as log, \
                                faultlib.watching(binary, root, *POLICY, log=log) as w:
                            c.expect(w.poll() is None, "watch died on a read-only file system")
                            c.expect(raw_files(root) == before, "a read-only tree changed under watch")
                            faultlib.remount(mnt, "rw")
                            t0 = time.monotonic()
                            done = faultlib.wait_for(lambda: converged(root, expected), retry_wait, 0.2)
                            c.fact(f"watch: remounted rw, converged by itself: {done}"
                                   + (f" after {time.monotonic() - t0:.1f} s" if done else f" (not within {retry_wait} s)"))
                            c.expect(done, f"watch did not converge within {retry_wait} s of the remount: "
                                     + "; ".join(faultlib.diff(faultlib.snapshot(root), expected[0], 3)))
                            c.expect(w.poll() is None, "watch died")
    finally:
        live.close()
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=["enospc", "inodes", "readonly", "all"])
    ap.add_argument("--phases", default="sweep,watch", help="sweep, watch or both (watch waits up to a retry interval, 30 s)")
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--retry-wait", type=float, default=45, help="how long watch may take to recover by itself")
    ap.add_argument("--binary")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    faultlib.require_root("tmpfs mounts")
    binary = faultlib.binary(a.binary)
    started = faultlib.utcnow()
    cases = ["enospc", "inodes", "readonly"] if a.case == "all" else [a.case]
    phases = [p for p in a.phases.split(",") if p in ("sweep", "watch")]
    results = [readonly(binary, a.tasks, a.retry_wait, phases) if case == "readonly" else
               full_disk(case, binary, a.tasks, a.retry_wait, phases) for case in cases]
    failures = [f for r in results for f in r.failures]
    for f in failures:
        print("FAIL:", f)
    if a.report:
        body = []
        for r in results:
            body += [f"## {r.case}", ""] + [f"- {x}" for x in r.facts] + [f"- FAILED: {f}" for f in r.failures] + [""]
        faultlib.write_report("fs-faults", "Full and read-only file systems (issue 11, fault suite)",
                              "scripts/fault/fs-faults.py " + " ".join(sys.argv[1:]), started, body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
