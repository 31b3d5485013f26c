#!/usr/bin/env python3
"""SIGKILL at random points during sweep and watch: nothing torn, removal order kept, convergence.

usage: crash-kill.py [--iterations N] [--bundles M] [--mode sweep|watch|both]
                     [--db with|without|both] [--kills K] [--seed S] [--binary B] [--report]

A tree with one of everything (mixedtree.py: removals, finalizations, kill markers, strays,
orphans, quarantine, empty sessions, a live task; with or without a WAL aft.db holding a row
per task) is swept once without interruption: that is the expected result. Then, N times per
mode and database variant, a fresh copy is given to `taskreaper sweep` or `taskreaper watch`,
which is SIGKILLed after a random delay within the uninterrupted run's duration (K times in a
row, each on what the last one left). After every kill:

  - every JSON parses (no torn write: temp + fsync + rename);
  - no bundle member outlives its JSON (removal takes the JSON last);
  - aft.db passes PRAGMA integrity_check;

then one clean `sweep` must give exactly the uninterrupted result (files, JSON contents without
the finalization moment, aft.db rows). What a killed run leaves of its own is only a temp that
the stray-temp rule removes once it is a minute old: those are counted, must all be ours, and
are then aged by two minutes for one more sweep, which must remove them and change nothing else.

KNOWN: a killing task whose processes are gone gets a `killed` marker, then is finalized killed
"killed while owner was gone" (CONTRACT §5). Killed between the two, the next pass finds a
killing task with a killed marker: the marker row applies, killed with the reason "recovered from
inconsistent killing state". Same status, exit code and files; only the reason differs. Counted
in its own column and not a failure.

Exit status: 0 when every check held, 1 otherwise (the failures are printed).
"""
import argparse, os, random, re, shutil, signal, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import mixedtree  # noqa: E402

POLICY = ["--finalize-grace", "0s"]


RECOVERED, GONE = "recovered from inconsistent killing state", "killed while owner was gone"


def normalized(root):
    """The snapshot with quarantine names' moment suffix made constant, and the number of
    killing tasks finalized through our own killed marker (see KNOWN in the docstring)."""
    state, recovered = {}, 0
    for key, value in faultlib.snapshot(root).items():
        if isinstance(value, dict) and value.get("status") == "killed" and value.get("status_reason") == RECOVERED:
            value, recovered = dict(value, status_reason=GONE), recovered + 1
        state[re.sub(r"\.quarantined-\d+", ".quarantined-N", key)] = value
    return state, recovered


def our_temps(root):
    """Dot-files left in session directories: (ours, foreign). Ours: `.<name>.tmp.<pid>.<tag>`
    with a pid that is not the mixed tree's gone writer (whose temps a clean pass removes)."""
    ours, foreign = [], []
    for session in faultlib.session_dirs(root):
        for name in os.listdir(session):
            if name.startswith("."):
                (ours if re.match(r"^\..+\.tmp\.\d+\.[A-Za-z0-9_-]+$", name) else foreign).append(os.path.join(session, name))
    return ours, foreign


def killed_run(binary, mode, root, delay):
    """Starts taskreaper on root and SIGKILLs it after `delay` s (or lets a sweep finish first)."""
    if mode == "sweep":
        args = [binary, "sweep", "--root", root, *POLICY, "--log-target", "stderr"]
    else:
        args = [binary, "watch", "--root", root, "--control-socket", "none", *POLICY, "--log-target", "stderr"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    finished = p.poll() is not None
    if not finished:
        p.send_signal(signal.SIGKILL)
    p.wait()
    return not finished


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--bundles", type=int, default=300)
    ap.add_argument("--mode", choices=["sweep", "watch", "both"], default="both")
    ap.add_argument("--db", choices=["with", "without", "both"], default="both")
    ap.add_argument("--kills", type=int, default=1, help="SIGKILLs in a row before the clean pass")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--binary")
    ap.add_argument("--dir", default=None, help="where the scratch trees go (default $TMPDIR)")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    binary = faultlib.binary(a.binary)
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = faultlib.utcnow()
    modes = ["sweep", "watch"] if a.mode == "both" else [a.mode]
    dbs = [True, False] if a.db == "both" else [a.db == "with"]
    failures, lines = [], []
    live = mixedtree.LiveProcess()
    try:
        with faultlib.scratch_dir("taskreaper-crash-", a.dir) as base:
            for with_db in dbs:
                template = os.path.join(base, "template")
                shutil.rmtree(template, ignore_errors=True)
                os.makedirs(template)
                broken = mixedtree.build(template, a.bundles, live, with_db)
                expected_root = os.path.join(base, "expected")
                shutil.rmtree(expected_root, ignore_errors=True)
                shutil.copytree(template, expected_root, symlinks=True)
                t0 = time.monotonic()
                faultlib.run(binary, "sweep", "--root", expected_root, *POLICY, check_status=(0,))
                duration = time.monotonic() - t0
                (expected, _), expected_db = normalized(expected_root), mixedtree.db_state(expected_root)
                for mode in modes:
                    counts = {"runs killed": 0, "finished before the kill": 0, "checks failed": 0, "temps left": 0,
                              "recovered": 0}
                    # watch's first pass takes about a sweep's time after start-up; kill within it, and a little after.
                    span = duration * (1.5 if mode == "watch" else 1.1)
                    for i in range(a.iterations):
                        work = os.path.join(base, "work")
                        shutil.rmtree(work, ignore_errors=True)
                        shutil.copytree(template, work, symlinks=True)
                        for k in range(a.kills):
                            was_killed = killed_run(binary, mode, work, rng.uniform(0, span))
                            counts["runs killed" if was_killed else "finished before the kill"] += 1
                            problems = faultlib.tree_problems(work, **{k: [p.replace(template, work) for p in v] for k, v in broken.items()})
                            state = mixedtree.db_state(work)
                            if state and state[0] != "ok":
                                problems.append(f"aft.db integrity_check: {state[0]}")
                            for p in problems:
                                failures.append(f"{mode} db={with_db} iteration {i} kill {k}: {p}")
                        faultlib.run(binary, "sweep", "--root", work, *POLICY, check_status=(0,))
                        ours, foreign = our_temps(work)
                        counts["temps left"] += len(ours)
                        if ours:
                            # A minute later the stray-temp rule settles them, and nothing else changes.
                            for temp in ours:
                                os.utime(temp, (time.time() - 120, time.time() - 120))
                            faultlib.run(binary, "sweep", "--root", work, *POLICY, check_status=(0,))
                            still, _ = our_temps(work)
                            failures += [f"{mode} db={with_db} iteration {i}: temp not settled: {t}" for t in still]
                        after, recovered = normalized(work)
                        counts["recovered"] += recovered
                        converged = after == expected and mixedtree.db_state(work) == expected_db and not foreign
                        if not converged:
                            counts["checks failed"] += 1
                            detail = faultlib.diff(after, expected, 5) + [f"foreign dot-file {f}" for f in foreign[:3]]
                            if mixedtree.db_state(work) != expected_db:
                                detail.append(f"aft.db rows differ: {sorted(mixedtree.db_state(work)[1] ^ expected_db[1])[:3]}")
                            failures.append(f"{mode} db={with_db} iteration {i}: no convergence: " + "; ".join(detail))
                    line = (f"| {mode} | {'with' if with_db else 'without'} | {a.iterations} | {counts['runs killed']} | "
                            f"{counts['finished before the kill']} | {counts['checks failed']} | {counts['temps left']} | {counts['recovered']} |")
                    lines.append(line)
                    print(line, flush=True)
    finally:
        live.close()
    for f in failures[:30]:
        print("FAIL:", f)
    table = ["| mode | aft.db | iterations | runs SIGKILLed | finished before the kill | failed (torn, order, integrity, convergence) "
             "| our temps left for the next minute | killed via our own marker (KNOWN) |",
             "|---|---|---|---|---|---|---|---|"] + lines
    print("\n".join(table))
    if a.report:
        body = [f"{a.bundles} bundles (mixedtree.py), {a.kills} SIGKILL(s) per iteration, seed {seed}.", ""] + table
        body += ["", "Every kill was followed by the checks (JSONs parse, no member without its JSON, integrity_check),",
                 "every iteration by one clean sweep compared with the uninterrupted sweep's result."]
        if failures:
            body += ["", "Failures:", ""] + [f"- {f}" for f in failures[:30]]
        faultlib.write_report("crash-kill", "SIGKILL during sweep and watch (issue 11, fault suite)",
                              "scripts/fault/crash-kill.py " + " ".join(sys.argv[1:]), started, body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
