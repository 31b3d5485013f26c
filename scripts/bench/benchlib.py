"""What the benchmark drivers in scripts/bench/ share: tools, the quiet gate, medians, the report file.

Imported by sweep_vs_peers.py and mirror_bench.py (each puts its own directory on sys.path first).
Every function takes what differs between the drivers as a parameter, so neither driver's behaviour
or output depends on which of them the code came from.
"""
import os, platform, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


# --- tools ----------------------------------------------------------------------------------

def out(*args, timeout=None):
    """stdout of a command, stripped; raises when it fails (or runs longer than timeout s)."""
    return subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=timeout).stdout.strip()


def try_out(*args, timeout=None):
    """out(), or "?" when the command is missing, fails or times out (for the report's facts)."""
    try:
        return out(*args, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return "?"


def make_tree(root, bundles, sessions, kind, live_pid=None, timeout=None, layout="flat"):
    """Generates a test tree at root with make-tree.py (next to this file)."""
    cmd = [sys.executable, os.path.join(HERE, "make-tree.py"), root, "--bundles", str(bundles),
           "--sessions", str(sessions), "--kind", kind, "--layout", layout] + (["--live-pid", str(live_pid)] if live_pid else [])
    subprocess.run(cmd, check=True, timeout=timeout)


def fdinfo_count(pid, kind, prefix):
    """Lines starting with prefix in the fdinfo of pid's descriptors of kind (anon inode name:
    "inotify" and "inotify wd:" counts its watches, "fanotify" and "fanotify sdev:" its file
    system marks)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if kind in os.readlink(f"/proc/{pid}/fd/{fd}"):
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    count += sum(1 for line in f if line.startswith(prefix))
        except OSError:
            pass
    return count


def fresh_bench_dir(base, marker):
    """Empties base (refusing a non-empty directory without our marker file) and marks it ours."""
    if os.path.exists(base):
        if os.listdir(base) and not os.path.exists(os.path.join(base, marker)):
            raise SystemExit(f"{base} exists, is not empty and is not ours ({marker} missing): refusing to delete it")
        shutil.rmtree(base)
    os.makedirs(base)
    open(os.path.join(base, marker), "w").close()


# --- the quiet gate -------------------------------------------------------------------------

def machine_busy():
    """Busy CPU seconds of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / TICK  # minus idle and iowait


def settle(rest, quiet, quiet_max, drop_caches=False):
    """sync, drop caches if asked, rest `rest` s; then wait (<= quiet_max s) for a quiet machine.

    Quiet: the machine used < `quiet` busy cores during the last window (quiet <= 0: no wait).
    Returns (seconds waited beyond the rest, busy cores of the machine in the last window)."""
    os.sync()
    if drop_caches:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    window = max(rest, 0.5)
    t0 = time.monotonic()
    while True:
        b0 = machine_busy()
        time.sleep(window)
        busy = (machine_busy() - b0) / window
        waited = time.monotonic() - t0 - window
        if quiet <= 0 or busy < quiet or waited + window > quiet_max:
            return max(0.0, waited), busy
        window = 1.0


def noisy(res, quiet):
    """Something else used more than `quiet` cores on average during the run (quiet <= 0: never)."""
    return quiet > 0 and res["other"] > quiet * res["wall"]


# --- report -----------------------------------------------------------------------------------

def med(runs, key="wall"):
    """Median of one field of the runs (wall seconds by default)."""
    return statistics.median(r[key] for r in runs)


def med_cpu(runs):
    """Median CPU seconds (user + sys) of the runs."""
    return statistics.median(r["user"] + r["sys"] for r in runs)


def cpu_model():
    """The processor's model name from /proc/cpuinfo, "?" when there is none."""
    with open("/proc/cpuinfo") as f:
        return next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")


def report_head(cmdline, started, finished, model, base, fs):
    """The lines every report starts with: command, date, machine, bench dir (fs: its file system)."""
    return [f"Command: `{cmdline}`  ",
            f"Date: {started:%Y-%m-%d %H:%M:%S} – {finished:%H:%M:%S} UTC  ",
            f"Machine: {os.cpu_count()} CPUs ({model}), "
            f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') >> 30} GiB, kernel {platform.release()}  ",
            f"Bench dir: `{base}`: {fs}  "]


def report_path(repo, kind, started):
    """bench-results/<kind>-<UTC yyyymmdd-HHMM>.md in repo, with -2, -3, … when that name is taken."""
    stamp = f"{kind}-{started:%Y%m%d-%H%M}"
    path = os.path.join(repo, "bench-results", f"{stamp}.md")
    k = 2
    while os.path.exists(path):
        path = os.path.join(repo, "bench-results", f"{stamp}-{k}.md")
        k += 1
    return path


def write_report(report, repo, kind, started):
    """Writes report to a fresh report_path() (creating bench-results/) and says where, on stderr."""
    os.makedirs(os.path.join(repo, "bench-results"), exist_ok=True)
    path = report_path(repo, kind, started)
    with open(path, "w") as f:
        f.write(report)
    print(f"written to {os.path.relpath(path, repo)}", file=sys.stderr)
    return path
