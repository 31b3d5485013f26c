#!/usr/bin/env python3
"""CPU per bundle of `taskreaper sweep` (issue 14, goal 2), and where it goes.

usage: cpu_profile.py [N]          (run it through scripts/bench/profile.sh, which builds first)

Removes N delivered bundles (default 20000, N/20 sessions) on a tmpfs, logging to /dev/null
(`--log-target stderr 2>/dev/null`), ROUNDS times per binary, binaries interleaved, each run on
a fresh `cp -a` of one template; CPU is the child's rusage (user + sys), so other work on a
shared machine changes it much less than wall time. Every run is checked: exit 0, nothing left.
Then, untimed, per binary: allocations per bundle (malloc-count.c preloaded, when cc exists)
and one `perf record -e cpu-clock -g` run (software clock: works without hardware counters),
whose top symbols the report lists. Writes bench-results/profile-<UTC>.md.

Environment: BINS="label=/path/to/taskreaper ..." (default: HEAD=$BIN), ROUNDS=5,
BENCH_DIR=/dev/shm/taskreaper-profile (a tmpfs), PERF=1, TOP=25, KEEP=0.
"""
import datetime, os, shutil, statistics, subprocess, sys, tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib
import sweep_vs_peers as svp

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(os.environ.get("ROUNDS", "5"))
BASE = os.path.abspath(os.environ.get("BENCH_DIR", "/dev/shm/taskreaper-profile"))
PERF = os.environ.get("PERF", "1") == "1" and shutil.which("perf") is not None
TOP = int(os.environ.get("TOP", "25"))
KEEP = os.environ.get("KEEP", "0") == "1"
REPO = os.path.dirname(os.path.dirname(HERE))
CMDLINE = os.environ.get("BENCH_CMDLINE", " ".join(["scripts/bench/cpu_profile.py", *sys.argv[1:]]))
MARKER = ".taskreaper-profile"


def binaries():
    spec = os.environ.get("BINS") or f"HEAD={os.environ.get('BIN', os.path.join(REPO, '.build/release/taskreaper'))}"
    pairs = [item.split("=", 1) for item in spec.split()]
    return {label: os.path.abspath(path) for label, path in pairs}


def sweep_cmd(binary, root):
    return [binary, "sweep", "--root", root, "--log-target", "stderr"]


def fresh_copy(template, name):
    root = os.path.join(BASE, name)
    subprocess.run(["cp", "-a", template, root], check=True)
    os.sync()
    return root


def checked(label, root, res, problems):
    left = svp.count(root)
    if res["code"] != 0 or left != (0, 0):
        problems.append(f"{label}: exit {res['code']}, {left[0]} files and {left[1]} session directories left")
    shutil.rmtree(root)


def malloc_counter():
    """Builds malloc-count.c into a temporary .so; None without a C compiler."""
    cc = shutil.which("cc")
    if cc is None:
        return None
    out = os.path.join(tempfile.mkdtemp(prefix="malloc-count-"), "malloc-count.so")
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", out, os.path.join(HERE, "malloc-count.c")], check=True)
    return out


def allocations(binary, template, counter, problems):
    root = fresh_copy(template, "alloc")
    with tempfile.NamedTemporaryFile("r", suffix=".count") as f:
        res = svp.timed(sweep_cmd(binary, root), env=dict(os.environ, LD_PRELOAD=counter, MALLOC_COUNT_FILE=f.name))
        calls = int(f.read().strip() or 0)
    checked(f"allocation run of {binary}", root, res, problems)
    return calls


def profile(label, binary, template, problems):
    """perf record of one run; the report's top symbols (self time) and the kernel's share."""
    root = fresh_copy(template, "perf")
    data = os.path.join(BASE, f"perf-{label}.data")
    rec = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "4999", "-g", "-o", data, "--"] + sweep_cmd(binary, root)
    res = svp.timed(rec)
    checked(f"perf run of {label}", root, res, problems)
    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio",
                             "-g", "none", "--percent-limit", "0.3"], capture_output=True, text=True).stdout
    rows = []
    kernel = 0.0
    for line in report.splitlines():
        parts = line.split()
        if not parts or line.startswith("#") or not parts[0].endswith("%"):
            continue
        share = float(parts[0].rstrip("%"))
        dso = parts[1]
        while parts and parts[-1] == "-":  # perf's empty extra columns
            parts.pop()
        symbol = " ".join(parts[3:]) if len(parts) > 3 else "?"
        if dso == "[kernel.kallsyms]":
            kernel += share
        rows.append((share, dso, demangle(symbol)))
    dsos = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso", "--stdio", "-g", "none"],
                          capture_output=True, text=True).stdout
    by_dso = [(float(l.split()[0].rstrip("%")), l.split()[1]) for l in dsos.splitlines()
              if l.strip() and not l.startswith("#") and l.split()[0].endswith("%")]
    return rows[:TOP], by_dso


def demangle(symbol):
    symbol = symbol.strip()
    if symbol.startswith("$s") and shutil.which("swift-demangle"):
        r = subprocess.run(["swift-demangle", "-simplified", "-compact", symbol], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    return symbol


def main():
    bins = binaries()
    problems = []
    benchlib.fresh_bench_dir(BASE, MARKER)
    fs = benchlib.try_out("findmnt", "-n", "-f", "-o", "FSTYPE,OPTIONS", "--target", BASE)
    started = datetime.datetime.now(datetime.timezone.utc)
    load = [svp.loadavg()]
    template = os.path.join(BASE, "template")
    sessions = max(1, N // 20)
    benchlib.make_tree(template, N, sessions, "delivered")
    results = {label: [] for label in bins}
    order = list(bins)
    for r in range(ROUNDS):
        for label in order:
            root = fresh_copy(template, f"run-{label}")
            res = svp.timed(sweep_cmd(bins[label], root))
            print(f"round {r + 1} {label:12} user {res['user']:.3f} s  sys {res['sys']:.3f} s  "
                  f"{(res['user'] + res['sys']) / N * 1e6:.1f} µs/bundle  other CPU {res['other']:.2f} s",
                  file=sys.stderr, flush=True)
            checked(f"{label}, round {r + 1}", root, res, problems)
            results[label].append(res)
        order = order[1:] + order[:1]
    load.append(svp.loadavg())
    counter = malloc_counter()
    mallocs = {label: allocations(b, template, counter, problems) for label, b in bins.items()} if counter else {}
    profiles = {label: profile(label, b, template, problems) for label, b in bins.items()} if PERF else {}
    finished = datetime.datetime.now(datetime.timezone.utc)

    L = [f"# CPU per bundle: taskreaper sweep of {N} delivered bundles on tmpfs, logging to /dev/null", ""]
    L += benchlib.report_head(CMDLINE, started, finished, benchlib.cpu_model(), BASE, fs)
    L.append("Binaries: " + "; ".join(f"{label} = `{path}` (sha256 "
                                      f"{benchlib.try_out('sha256sum', path).split()[0][:16]}…)" for label, path in bins.items()) + "  ")
    L.append(f"Load average (1 min) before / after the timed rounds: {load[0]} / {load[1]}  ")
    L.append(f"Command per run: `BIN sweep --root ROOT --log-target stderr 2>/dev/null` on a fresh `cp -a` of one "
             f"template ({N} bundles, {sessions} sessions, 4 files each), {ROUNDS} rounds, binaries interleaved.")
    L.append("")
    L.append("| binary | user+sys per run (s) | median user (s) | median sys (s) | **µs per bundle** (user+sys) | "
             "median wall (s) | other CPU per run (s) | mallocs per bundle |")
    L.append("|---|---|---|---|---|---|---|---|")
    for label, runs in results.items():
        cpu = benchlib.med_cpu(runs)
        per_run = ", ".join(f"{r['user'] + r['sys']:.3f}" for r in runs)
        other = ", ".join(f"{r['other']:.2f}" for r in runs)
        allocs = f"{mallocs[label] / N:.1f}" if label in mallocs else "-"
        L.append(f"| {label} | {per_run} | "
                 f"{statistics.median(r['user'] for r in runs):.3f} | {statistics.median(r['sys'] for r in runs):.3f} | "
                 f"**{cpu / N * 1e6:.1f}** | {benchlib.med(runs):.3f} | "
                 f"{other} | {allocs} |")
    L.append("")
    L.append("`other CPU`: the machine's busy CPU during the run minus the sweep's: what else competed for the "
             "cores (the rusage columns count the sweep alone). mallocs: malloc + calloc + realloc calls of one "
             "untimed run (scripts/bench/malloc-count.c preloaded), divided by N.")
    for label, (rows, by_dso) in profiles.items():
        L.append("")
        L.append(f"## perf: {label}")
        L.append("")
        L.append(f"`perf record -e cpu-clock -F 4999 -g -- BIN sweep --root ROOT --log-target stderr`, "
                 f"`perf report --no-children --sort dso,symbol` (self time, top {TOP}). By object: "
                 + ", ".join(f"{dso} {share:.1f} %" for share, dso in by_dso if share >= 0.5) + ".")
        L.append("")
        L.append("| self % | object | symbol |")
        L.append("|---|---|---|")
        for share, dso, symbol in rows:
            L.append(f"| {share:.2f} | {dso} | `{symbol[:140]}` |")
    if problems:
        L += ["", "## PROBLEMS", ""] + [f"- {p}" for p in problems]
    report = "\n".join(L) + "\n"
    print(report)
    benchlib.write_report(report, REPO, "profile", started)
    if not KEEP:
        shutil.rmtree(BASE, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
