"""The 100 000-session scale of the watch benchmarks (issue #14 goal 3): see watch_bench.py's
header for what is measured and how (BIG=1 there). Uses watch_bench's Watch and helpers."""
import glob, json, os, random, shutil, subprocess, sys, threading, time

import watch_bench as wb

def setting(name, default):
    return int(os.environ.get(name, str(default)))


SESSIONS, BUNDLES, IDLE = setting("BIG_SESSIONS", 100000), setting("BIG_BUNDLES", 250000), setting("BIG_IDLE_SECONDS", 10)
LOAD_RATE, FLOOD, FLOOD_QUEUE = setting("LOAD_RATE", 1000), setting("FLOOD", 20000), setting("FLOOD_QUEUE", 128)
QUEUE_KNOB = "/proc/sys/fs/inotify/max_queued_events"

# The writer: rewrites task JSONs (temp + rename, the content unchanged) round-robin over the
# sessions, `rate` a second (0: as fast as it can), `count` in all (0: until stdin closes).
WRITER = r"""
import os, sys, time
rate, count, paths = float(sys.argv[1]), int(sys.argv[2]), [l.rstrip("\n") for l in open(sys.argv[3])]
docs = {}
start, done = time.monotonic(), 0
import select
while count == 0 or done < count:
    path = paths[done % len(paths)]
    if path not in docs:
        with open(path, "rb") as f: docs[path] = f.read()
    d, b = os.path.split(path)
    tmp = os.path.join(d, "." + b + ".tmp.1.w")
    with open(tmp, "wb") as f: f.write(docs[path])
    os.rename(tmp, path)
    done += 1
    if rate:
        ahead = start + done / rate - time.monotonic()
        if ahead > 0: time.sleep(ahead)
    if count == 0 and done % 100 == 0 and select.select([sys.stdin], [], [], 0)[0]: break
print(done, time.monotonic() - start, flush=True)
"""


def one_json_per_session(root, out):
    """A list file with the first task JSON of every session of the tree (the writer's targets)."""
    paths = []
    for tree in sorted(glob.glob(os.path.join(root, "*/bash-tasks")) + glob.glob(os.path.join(root, "bash-tasks"))):
        for session in os.scandir(tree):
            name = min((e.name for e in os.scandir(session.path) if e.name.endswith(".json")), default=None)
            if name:
                paths.append(os.path.join(session.path, name))
    random.Random(14).shuffle(paths)  # consecutive rewrites in different sessions and trees
    with open(out, "w") as f:
        f.write("\n".join(paths) + "\n")
    return len(paths)


def start_writer(targets, rate, count):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(rate), str(count), targets],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def stop_writer(writer):
    writer.stdin.close()
    done, seconds = writer.stdout.read().split()
    writer.wait()
    return int(done), float(seconds)


def marker_latency(session, tasks):
    """TASKS tasks end through their wrapper (marker rename, then exit): marker -> finalized JSON
    beyond the grace, as watch_bench.latency measures it."""
    shutil.rmtree(session, ignore_errors=True)  # a reused tree's from the last run
    os.makedirs(session)
    time.sleep(0.5)  # the tree's watch sees the session, the watcher watches it
    lat, batch = [], 20
    for start in range(0, tasks, batch):
        procs = []
        for i in range(start, min(tasks, start + batch)):
            tid = f"bgb-{i:08x}"
            p = wb.spawn_wrapper(session, tid, "sleep 0.3")
            wb.write_json(os.path.join(session, tid + ".json"), wb.task_doc(tid, p.pid, wb.now_ms()))
            procs.append((tid, p))
        for tid, p in procs:
            p.wait()
            assert wb.wait_status(os.path.join(session, tid + ".json"), ("completed",), timeout=120), tid
            marker = os.stat(os.path.join(session, tid + ".exit")).st_mtime_ns
            finalized = os.stat(os.path.join(session, tid + ".json")).st_mtime_ns
            lat.append((finalized - marker) / 1e6 - wb.GRACE_MS)
    return lat


def first_pass_and_load(root, live_pid, targets, binary=None, quiet_latency=False):
    """First pass, RSS, watches, idle ticks; then marker latency (without the writer if asked,)
    under the writer's load."""
    w = wb.Watch(root, "--finalize-grace", f"{wb.GRACE_MS}ms", binary=binary)
    try:
        r = {"ready": w.ready_after, "ready_ticks": w.cpu_ticks(), "rss": w.rss_kib(), "peak": w.peak_rss_kib(),
             "watches": w.inotify_watches()}
        time.sleep(1)
        t0 = w.cpu_ticks()
        time.sleep(IDLE)
        r["idle_ticks"] = w.cpu_ticks() - t0
        if quiet_latency:
            r["quiet_latency"] = marker_latency(os.path.join(root, "opencode/bash-tasks/00000000000000ce"), wb.TASKS)
        writer = start_writer(targets, LOAD_RATE, 0)
        time.sleep(2)  # the load is on before the first marker
        t0, c0 = time.monotonic(), w.cpu_ticks()
        r["latency"] = marker_latency(os.path.join(root, "opencode/bash-tasks/00000000000000cc"), wb.TASKS)
        r["load_cpu"] = (w.cpu_ticks() - c0) / wb.TICKS / (time.monotonic() - t0)
        done, seconds = stop_writer(writer)
        r["load_rate"] = done / seconds
        r["rss_after_load"] = w.rss_kib()
        return r
    finally:
        w.stop()


def overflow_recovery(root, live_pid, targets, binary=None):
    """A watcher with a small inotify queue, a flood that overflows it, and a marker written
    into a live task's session after the overflow: time to the finalized JSON."""
    with open(QUEUE_KNOB) as f:
        saved = f.read().strip()
    session = os.path.join(root, "opencode/bash-tasks/00000000000000dd")
    shutil.rmtree(session, ignore_errors=True)  # a reused tree's from the last run
    os.makedirs(session)
    tid = "bgb-0000dd01"
    record = os.path.join(session, tid + ".json")
    wb.write_json(record, wb.task_doc(tid, live_pid, wb.now_ms()))
    log = root + ".overflow.log"
    try:
        with open(QUEUE_KNOB, "w") as f:
            f.write(str(FLOOD_QUEUE))
        w = wb.Watch(root, "--finalize-grace", f"{wb.GRACE_MS}ms", log=log, binary=binary)
    finally:
        with open(QUEUE_KNOB, "w") as f:
            f.write(saved)
    try:
        rescans = lambda: open(log).read().count("inotify queue overflow")
        writer = start_writer(targets, 0, FLOOD)
        deadline = time.monotonic() + 120
        while rescans() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        overflowed = rescans() > 0
        marker = os.path.join(session, tid + ".exit")
        with open(marker + ".tmp", "w") as f:
            f.write("0")
        os.rename(marker + ".tmp", marker)
        written = os.stat(marker).st_mtime_ns
        done, seconds = stop_writer(writer)
        flood_end = time.time_ns()
        assert wb.wait_status(record, ("completed",), timeout=600), "not finalized after the overflow"
        finalized = os.stat(record).st_mtime_ns
        return {"overflowed": overflowed, "overflow_rescans": rescans(), "flood": done, "flood_s": seconds,
                "from_marker": (finalized - written) / 1e9, "from_flood_end": max(0, finalized - flood_end) / 1e9}
    finally:
        w.stop()


def remove_added(root):
    """The sessions the measures add: every first pass sees the tree as it was made."""
    for added in ("cc", "ce", "dd"):
        shutil.rmtree(os.path.join(root, "opencode/bash-tasks/00000000000000" + added), ignore_errors=True)


def tree(base):
    """The big tree, its live process, its writer targets and file count: made now, or (BIG_TREE)
    reused from an earlier run. Returns (root, live pid, targets, files, seconds to make, cleanup)."""
    keep = os.environ.get("BIG_TREE")
    root = keep or os.path.join(base, "big")
    made = os.path.join(root, ".made")
    if keep and os.path.exists(made):
        info = json.load(open(made))
        alive = os.path.exists(f"/proc/{info['live_pid']}") and \
            open(f"/proc/{info['live_pid']}/cmdline").read().split("\0")[:2] == ["sleep", "36000"]
        if alive and info["sessions"] == SESSIONS and info["bundles"] == BUNDLES:
            remove_added(root)
            return root, info["live_pid"], root + ".targets", info["files"], info["made_s"], lambda: None
        if alive:
            os.kill(info["live_pid"], 9)
    shutil.rmtree(root, ignore_errors=True)
    live = subprocess.Popen(["setsid", "sleep", "36000"])
    t0 = time.monotonic()
    wb.subprocess.run([sys.executable, os.path.join(wb.HERE, "make-tree.py"), root, "--bundles", str(BUNDLES),
                       "--sessions", str(SESSIONS), "--kind", "live", "--live-pid", str(live.pid)], check=True)
    made_s = time.monotonic() - t0
    targets = root + ".targets"
    one_json_per_session(root, targets)
    files = sum(len(f) for _, _, f in os.walk(root))
    if keep:
        with open(made, "w") as f:
            json.dump({"sessions": SESSIONS, "bundles": BUNDLES, "live_pid": live.pid, "files": files, "made_s": made_s}, f)
        return root, live.pid, targets, files, made_s, lambda: None

    def cleanup():
        live.kill()
        live.wait()
        shutil.rmtree(root, ignore_errors=True)
    return root, live.pid, targets, files, made_s, cleanup


def first_pass(root, binary):
    """BIG_FIRST_PASS_ONLY: start, READY=1, then its numbers (and the idle ticks)."""
    w = wb.Watch(root, "--finalize-grace", f"{wb.GRACE_MS}ms", binary=binary)
    try:
        r = {"ready": w.ready_after, "ready_ticks": w.cpu_ticks(), "rss": w.rss_kib(), "peak": w.peak_rss_kib(),
             "anon": w.rss_kib("RssAnon"), "watches": w.inotify_watches()}
        time.sleep(1)
        t0 = w.cpu_ticks()
        time.sleep(IDLE)
        r["idle_ticks"] = w.cpu_ticks() - t0
        return r
    finally:
        w.stop()


def compare(base, peers):
    """BIG_PEER_BIN: the peers and BIN on the same tree, interleaved; one row per run."""
    root, live_pid, targets, files, made_s, cleanup = tree(base)
    rows = []
    only_first = setting("BIG_FIRST_PASS_ONLY", 0) == 1
    try:
        n = sum(1 for _ in open(targets))
        for round in range(setting("BIG_ROUNDS", 1)):
            for name, binary in [(f"peer {i + 1}" if len(peers) > 1 else "peer", p) for i, p in enumerate(peers)] + [("BIN", wb.BIN)]:
                remove_added(root)
                if only_first:
                    r = first_pass(root, binary)
                    rows.append(f"| {round + 1} | {name} | {r['ready']:.1f} s, {r['ready_ticks'] / wb.TICKS:.1f} s CPU | "
                                f"{r['rss'] / 1024:.1f} MiB | {r['peak'] / 1024:.1f} MiB | {r['anon'] / 1024:.1f} MiB | "
                                f"{r['watches']} | {r['idle_ticks']} |")
                    print(rows[-1], flush=True)
                    continue
                load = first_pass_and_load(root, live_pid, targets, binary=binary, quiet_latency=True)
                flood = overflow_recovery(root, live_pid, targets, binary=binary)
                quiet, lat = load["quiet_latency"], load["latency"]
                rows.append(
                    f"| {round + 1} | {name} | {load['ready']:.1f} s, {load['ready_ticks'] / wb.TICKS:.1f} s CPU | "
                    f"{load['rss'] / 1024:.1f} MiB | {load['peak'] / 1024:.1f} MiB | {load['watches']} | {load['idle_ticks']} | "
                    f"{wb.pct(quiet, 50):.1f} / {wb.pct(quiet, 99):.1f} ms | {wb.pct(lat, 50):.1f} / {wb.pct(lat, 99):.1f} ms "
                    f"({load['load_rate']:.0f}/s, CPU {load['load_cpu'] * 100:.0f} %) | {load['rss_after_load'] / 1024:.1f} MiB | "
                    f"{flood['from_marker']:.1f} s ({'overflowed' if flood['overflowed'] else 'NO overflow'}) |")
                print(rows[-1], flush=True)
    finally:
        cleanup()
    names = ", ".join(f"`{p}`" for p in peers)
    if only_first:
        return ["", f"{SESSIONS} sessions / {BUNDLES} live bundles ({files} files), first pass only: peers {names} and BIN "
                f"`{wb.BIN}` alternately", "",
                "| round | binary | first pass (wall, CPU) | RSS after | peak RSS | anonymous | watches | idle ticks |",
                "|---|---|---|---|---|---|---|---|"] + rows
    return [
        "",
        f"{SESSIONS} sessions / {BUNDLES} live bundles ({files} files, tree made in {made_s:.0f} s), peer "
        f"{names} and BIN `{wb.BIN}` alternately; marker latency beyond the {wb.GRACE_MS} ms grace, {wb.TASKS} tasks, "
        f"without the writer and with it ({LOAD_RATE}/s asked, {n} sessions round-robin); overflow: queue {FLOOD_QUEUE}, "
        f"flood of {FLOOD} rewrites, marker written after the overflow -> finalized",
        "",
        "| round | binary | first pass (wall, CPU) | RSS after | peak RSS | watches | idle ticks | marker p50 / p99 | "
        "under load p50 / p99 | RSS after load | overflow recovery |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ] + rows


def run(base):
    """Every big-scale measure on one tree; returns the report's lines."""
    peer = os.environ.get("BIG_PEER_BIN")
    if peer:
        return compare(base, [os.path.abspath(p) for p in peer.split(":")])
    root, live_pid, targets, files, made_s, cleanup = tree(base)
    try:
        n = sum(1 for _ in open(targets))
        load = first_pass_and_load(root, live_pid, targets)
        flood = overflow_recovery(root, live_pid, targets)
    finally:
        cleanup()
    lat = load["latency"]
    return [
        f"| {SESSIONS} sessions / {BUNDLES} live bundles ({files} files, tree made in {made_s:.0f} s): first pass, RSS after it, "
        f"peak RSS, inotify watches | {load['ready']:.1f} s, {load['rss'] / 1024:.1f} MiB, {load['peak'] / 1024:.1f} MiB, "
        f"{load['watches']} watches | RSS <= 64 MiB |",
        f"| the same, idle {IDLE} s: CPU ticks (1/{wb.TICKS} s) | {load['idle_ticks']} ticks | 0 ticks |",
        f"| the same, under load (a writer rewriting one task JSON of a different session {LOAD_RATE}/s, {n} sessions "
        f"round-robin; achieved {load['load_rate']:.0f}/s): marker rename -> finalized JSON beyond the grace, {len(lat)} tasks | "
        f"p50 {wb.pct(lat, 50):.1f} ms, p99 {wb.pct(lat, 99):.1f} ms, max {max(lat):.1f} ms; watcher CPU "
        f"{load['load_cpu'] * 100:.0f} % of a core, RSS after {load['rss_after_load'] / 1024:.1f} MiB | p99 <= 50 ms |",
        f"| the same, inotify overflow (queue {FLOOD_QUEUE}, flood of {flood['flood']} rewrites in {flood['flood_s']:.1f} s; "
        f"overflow seen: {'yes' if flood['overflowed'] else 'NO'}, {flood['overflow_rescans']} overflow rescan(s)): marker written "
        f"after the overflow -> finalized | {flood['from_marker']:.1f} s from the marker, {flood['from_flood_end']:.1f} s from "
        f"the end of the flood | |",
    ]
