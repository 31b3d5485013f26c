#!/usr/bin/env python3
"""taskreaper sweep against find -delete and systemd-tmpfiles --clean, interleaved.

usage: sweep_vs_peers.py [N] (env: ROUNDS=3, BENCH_DIR=/var/tmp/taskreaper-bench,
       BIN=.build/release/taskreaper, DROP_CACHES=1)
See scripts/bench/sweep-vs-peers.sh, the one command that builds and runs this.
"""
import datetime, hashlib, os, platform, shutil, statistics, subprocess, sys, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BASE = os.environ.get("BENCH_DIR", "/var/tmp/taskreaper-bench")
BIN = os.path.abspath(os.environ.get("BIN", ".build/release/taskreaper"))
DROP = os.environ.get("DROP_CACHES", "1") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))
JOURNAL = os.path.exists("/run/systemd/journal/socket")


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def settle():
    """Same start for every tool: data on disk and, when allowed, a cold cache."""
    os.sync()
    if DROP:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        except OSError:
            pass


def files_left(root):
    return sum(len(fs) for _, _, fs in os.walk(root))


def dirs_left(root):
    return sum(len(ds) for _, ds, _ in os.walk(root))


def trees(root):
    return [os.path.join(root, t) for t in ("opencode/bash-tasks", "pi/bash-tasks", "bash-tasks")
            if os.path.isdir(os.path.join(root, t))]


def run_find(root):
    return ["find", *trees(root), "-mindepth", "1", "-delete"]


def run_tmpfiles(root):
    conf = root + ".tmpfiles.conf"
    with open(conf, "w") as f:
        for t in trees(root):
            f.write(f"e {t} - - - 1s\n")
    return ["systemd-tmpfiles", "--clean", conf]


def run_taskreaper(root):
    return [BIN, "sweep", "--root", root, "--log-target", "journal" if JOURNAL else "stderr"]


TOOLS = {"find -delete": run_find, "systemd-tmpfiles --clean": run_tmpfiles, "taskreaper sweep": run_taskreaper}


def timed(cmd):
    start = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start, p.returncode


def snapshot(root):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        for name in sorted(filenames + dirnames):
            st = os.lstat(os.path.join(dirpath, name))
            h.update(f"{dirpath}/{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def main():
    shutil.rmtree(BASE, ignore_errors=True)
    os.makedirs(BASE)
    template = os.path.join(BASE, "template")
    sh(sys.executable, os.path.join(HERE, "make-tree.py"), template, "--bundles", str(N), "--kind", "delivered")
    total_files = files_left(template)
    results = {name: [] for name in TOOLS}
    leftovers = {}
    order = list(TOOLS)
    for r in range(ROUNDS):
        for name in order:
            root = os.path.join(BASE, f"run-{r}-{name.split()[0]}")
            sh("cp", "-a", template, root)
            time.sleep(1.1)  # tmpfiles ages by ctime too, which cp just set: let 1 s pass for every tool alike
            settle()
            seconds, code = timed(TOOLS[name](root))
            left = files_left(root)
            if code != 0 or left != 0:
                print(f"!! {name}: exit {code}, {left} files left", file=sys.stderr)
            leftovers[name] = (code, left, dirs_left(root))
            results[name].append(seconds)
            shutil.rmtree(root)
        order = order[1:] + order[:1]  # rotate who goes first

    # No-op: N live bundles, one real process; the sweep must probe all and change nothing.
    live = subprocess.Popen(["setsid", "sleep", "3600"])
    try:
        live_root = os.path.join(BASE, "live")
        sh(sys.executable, os.path.join(HERE, "make-tree.py"), live_root, "--bundles", str(N), "--kind", "live",
           "--live-pid", str(live.pid))
        before = snapshot(live_root)
        noop, peer = [], []
        for _ in range(ROUNDS):
            settle()
            noop.append(timed(run_taskreaper(live_root))[0])
            settle()
            peer.append(timed(["sh", "-c", f"find {live_root} -name '*.json' -exec cat {{}} + > /dev/null"])[0])
        unchanged = snapshot(live_root) == before
    finally:
        live.kill()
        live.wait()

    fs = subprocess.run(["stat", "-f", "-c", "%T", BASE], capture_output=True, text=True).stdout.strip()
    med = {k: statistics.median(v) for k, v in results.items()}
    base = med["find -delete"]
    lines = [
        f"# sweep vs peers, {N} delivered bundles ({total_files} files), {ROUNDS} interleaved rounds",
        "",
        f"Command: `scripts/bench/sweep-vs-peers.sh {N}` (ROUNDS={ROUNDS})  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}  ",
        f"Machine: {os.cpu_count()} cores, kernel {platform.release()}, {fs} at {BASE}  ",
        f"Caches dropped before every run: {'yes' if DROP else 'no'}; taskreaper logs to "
        f"{'journald (running)' if JOURNAL else 'stderr (discarded)'}",
        "",
        "| tool | runs (s) | median (s) | ratio to find -delete | exit, files left, dirs left |",
        "|---|---|---|---|---|",
    ]
    for name in TOOLS:
        code, left, dleft = leftovers[name]
        lines.append(f"| {name} | {', '.join(f'{x:.2f}' for x in results[name])} | {med[name]:.2f} | "
                     f"{med[name] / base:.2f} | {code}, {left}, {dleft} |")
    lines += [
        "",
        f"No-op sweep over {N} live bundles (one real process; every task probed, nothing changed: "
        f"{'tree unchanged' if unchanged else 'TREE CHANGED'}):",
        "",
        "| what | runs (s) | median (s) | per bundle (µs) |",
        "|---|---|---|---|",
        f"| taskreaper sweep | {', '.join(f'{x:.2f}' for x in noop)} | {statistics.median(noop):.2f} | "
        f"{statistics.median(noop) / N * 1e6:.0f} |",
        f"| find -name '*.json' -exec cat (peer: read every JSON) | {', '.join(f'{x:.2f}' for x in peer)} | "
        f"{statistics.median(peer):.2f} | {statistics.median(peer) / N * 1e6:.0f} |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs("bench-results", exist_ok=True)
    out = f"bench-results/sweep-{datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d-%H%M')}.md"
    with open(out, "w") as f:
        f.write(report)
    print(f"written to {out}")
    shutil.rmtree(BASE, ignore_errors=True)
    if not unchanged or any(code != 0 or left != 0 for name, (code, left, _) in leftovers.items() if name != "systemd-tmpfiles --clean"):
        sys.exit(1)


if __name__ == "__main__":
    main()
