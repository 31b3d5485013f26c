#!/usr/bin/env python3
"""Cost growth of a sweep (issue 14, goal 4): 1 000, 10 000 and 100 000 delivered bundles.

usage: growth.py [SIZES...]        (run it through scripts/bench/growth.sh, which builds first)

For every file system (ext4 under /var/tmp and a tmpfs under /dev/shm by default) and every
size: one generated template (N bundles, N/20 sessions, 4 files each), then ROUNDS interleaved
rounds of `find -delete`, `systemd-tmpfiles --clean` and `taskreaper sweep` (journald when one
answers, as in production), each on a fresh `cp -a`, with the commands, the timing, the quiet
gate and the checks of sweep_vs_peers.py (its functions, imported). One table: median wall,
CPU (user+sys of the child) and max RSS per tool and size, and the same per bundle, so that
linear growth shows as a flat per-bundle column; journald's CPU is listed with taskreaper's.
Writes bench-results/growth-<UTC>.md.

Environment: ROUNDS=3, FILESYSTEMS="ext4=/var/tmp/taskreaper-growth tmpfs=/dev/shm/taskreaper-growth",
QUIET/QUIET_MAX/REDO/SETTLE/LOG_TARGET as sweep_vs_peers.py, KEEP=0.
"""
import datetime, os, shutil, statistics, subprocess, sys, tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib
import sweep_vs_peers as svp

SIZES = [int(a) for a in sys.argv[1:]] or [1000, 10000, 100000]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
FILESYSTEMS = [item.split("=", 1) for item in
               os.environ.get("FILESYSTEMS", "ext4=/var/tmp/taskreaper-growth tmpfs=/dev/shm/taskreaper-growth").split()]
KEEP = os.environ.get("KEEP", "0") == "1"
REPO = os.path.dirname(os.path.dirname(HERE))
CMDLINE = os.environ.get("BENCH_CMDLINE", " ".join(["scripts/bench/growth.py", *sys.argv[1:]]))
TOOLS = {"find -delete": svp.cmd_find, "systemd-tmpfiles --clean": svp.cmd_tmpfiles, svp.TR_NAME: svp.cmd_taskreaper}


def max_rss_kib(cmd):
    """The tool's max RSS, from an extra untimed run under GNU time (exit code, KiB). rusage
    of a child of this script would count the Python process it was forked from (17 MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as f:
        code = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, *cmd], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        return code, int(f.read().split()[-1])


def measure(base, n, problems, discarded):
    """ROUNDS interleaved rounds of every tool over n bundles in base: {tool: [run, ...]}."""
    template = os.path.join(base, f"template-{n}")
    sessions = max(1, n // 20)
    benchlib.make_tree(template, n, sessions, "delivered")
    runs = {name: [] for name in TOOLS}
    order = list(TOOLS)
    for r in range(ROUNDS):
        for name in order:
            for attempt in range(svp.REDO + 1):
                root = os.path.join(base, f"run-{n}-{list(TOOLS).index(name)}")
                subprocess.run(["cp", "-a", template, root], check=True)
                cmd = TOOLS[name](root)
                waited, busy = svp.settle()
                res = svp.timed(cmd)
                ok, redo = svp.checked_removal(res, root, name, attempt)
                print(f"{os.path.basename(base)} n={n} round {r + 1} {name:34} {res['wall']:7.2f} s  cpu "
                      f"{res['user'] + res['sys']:.2f} s  exit {res['code']}  "
                      f"left {res['files_left']}/{res['sessions_left']}  other CPU {res['other']:.2f} s"
                      + ("  NOISY: run again" if redo else ""), file=sys.stderr, flush=True)
                if not ok:
                    problems.append(f"{base}, {n} bundles, {name}, round {r + 1}: exit {res['code']}, "
                                    f"{res['files_left']} files and {res['sessions_left']} session directories left")
                if redo:
                    discarded.append(res)
                    continue
                runs[name].append(res)
                break
        order = order[1:] + order[:1]
    rss = {}
    for name in TOOLS:
        root = os.path.join(base, f"rss-{n}")
        subprocess.run(["cp", "-a", template, root], check=True)
        code, rss[name] = max_rss_kib(TOOLS[name](root))
        left = svp.count(root)
        if code != 0 or left != (0, 0):
            problems.append(f"{base}, {n} bundles, {name}, RSS run: exit {code}, {left[0]} files, {left[1]} sessions left")
        shutil.rmtree(root)
        if os.path.exists(root + ".tmpfiles.conf"):
            os.unlink(root + ".tmpfiles.conf")
    shutil.rmtree(template)
    return runs, sessions, rss


def main():
    ok, why = svp.taskreaper_status()
    if not ok:
        raise SystemExit(f"growth: taskreaper not usable: {why}")
    svp.JD = svp.journald_pid() if svp.JOURNAL else None
    problems, discarded, table, notes = [], [], [], []
    started = datetime.datetime.now(datetime.timezone.utc)
    load = [svp.loadavg()]
    fs_lines = []
    for label, base in FILESYSTEMS:
        base = os.path.abspath(base)
        benchlib.fresh_bench_dir(base, svp.MARKER)
        fs_lines.append(f"{label}: `{base}` ({benchlib.try_out('findmnt', '-n', '-f', '-o', 'FSTYPE,OPTIONS', '--target', base)})")
        for n in SIZES:
            runs, sessions, rss_of = measure(base, n, problems, discarded)
            find_wall = benchlib.med(runs["find -delete"])
            for name, rs in runs.items():
                wall, cpu = benchlib.med(rs), benchlib.med_cpu(rs)
                rss = rss_of[name] / 1024
                jd = statistics.median(r["journald"] for r in rs)
                table.append((label, n, name, wall, cpu, rss, jd, wall / find_wall, rs))
                if "journal_entries" in rs[0]:
                    notes.append(f"{label}, {n} bundles ({sessions} sessions): journal entries per taskreaper run "
                                 f"{', '.join(str(r['journal_entries']) for r in rs)}")
        if not KEEP:
            shutil.rmtree(base, ignore_errors=True)
    load.append(svp.loadavg())
    finished = datetime.datetime.now(datetime.timezone.utc)

    L = [f"# Cost growth: sweep of {', '.join(f'{n:,}'.replace(',', ' ') for n in SIZES)} delivered bundles, "
         f"taskreaper and its peers", ""]
    L += benchlib.report_head(CMDLINE, started, finished, benchlib.cpu_model(), FILESYSTEMS[0][1], fs_lines[0])
    L += [f"File systems: {'; '.join(fs_lines)}  ",
          f"taskreaper: `{svp.BIN}`, git {benchlib.try_out('git', '-C', REPO, 'rev-parse', '--short', 'HEAD')}; logging: "
          + (f"`--log-target journal` to a running journald (pid {svp.JD}), whose CPU is the `journald CPU` column"
             if svp.JOURNAL else "`--log-target stderr` to /dev/null (no journald answering)") + "  ",
          f"Load average (1 min) before / after: {load[0]} / {load[1]}; runs discarded as noisy and redone: {len(discarded)}  ",
          f"Every run: a fresh `cp -a` of the size's template (N/20 sessions, 4 files per bundle, 2 h old), {ROUNDS} "
          "rounds, tools interleaved and rotated, medians; checked to exit 0 and leave no file and no session "
          "directory. Commands, timing and checks are those of `scripts/bench/sweep-vs-peers.sh`. Max RSS: one "
          "extra untimed run per tool and size under GNU time (`%M`).", ""]
    L.append("| fs | bundles | tool | median wall (s) | wall / find | median CPU user+sys (s) | journald CPU (s) | "
             "max RSS (MiB) | wall per bundle (µs) | CPU per bundle (µs) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for label, n, name, wall, cpu, rss, jd, ratio, _ in table:
        L.append(f"| {label} | {n} | {name} | {wall:.3f} | {ratio:.2f} | {cpu:.3f} | {jd:.2f} | {rss:.1f} | "
                 f"{wall / n * 1e6:.1f} | {cpu / n * 1e6:.1f} |")
    L.append("")
    L.append("Growth from the smallest to the largest size, per tool and file system (CPU per bundle at the "
             "largest size / at the smallest; 1.00 = linear):")
    L.append("")
    for label, _ in FILESYSTEMS:
        parts = []
        for name in TOOLS:
            rows = [row for row in table if row[0] == label and row[2] == name]
            if len(rows) >= 2:
                first, last = rows[0], rows[-1]
                parts.append(f"{name} {(last[4] / last[1]) / (first[4] / first[1]):.2f}")
        L.append(f"- {label}: " + "; ".join(parts))
    if notes:
        L += ["", "Journal entries (one per session for its removals, one per removed session directory, one "
              "summary; journald's default limit is 10 000 per 30 s and the shipped units raise it to 100 000):", ""]
        L += [f"- {note}" for note in notes]
    if problems:
        L += ["", "## PROBLEMS", ""] + [f"- {p}" for p in problems]
    report = "\n".join(L) + "\n"
    print(report)
    benchlib.write_report(report, REPO, "growth", started)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
