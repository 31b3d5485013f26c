"""What the fault drivers in scripts/fault/ share: the binary, bundles written as the harness
writes them, the tree checks every fault ends with, scratch mounts and sysctls that are always
undone, and the report file.

Each driver imports this (it puts its own directory on sys.path first). Nothing here decides
what a fault means; the drivers say what they expect and use these to look.
"""
import contextlib, datetime, json, os, platform, signal, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HOUR_MS = 3_600_000

# PersistedTask field order in the seed (serde serializes in declaration order).
KEYS = ["schema_version", "task_id", "session_id", "command", "mode", "workdir", "project_root",
        "status", "started_at", "finished_at", "duration_ms", "timeout_ms", "exit_code", "child_pid",
        "pgid", "completion_delivered", "notify_on_completion", "compressed", "pty_rows", "pty_cols",
        "status_reason"]
TERMINAL = {"completed", "failed", "killed", "timed_out", "fate_unknown"}
MEMBERS = ["stdout", "stderr", "pty", "exit", "sh", "ps1", "bat"]


def binary(explicit=None):
    """The taskreaper to drive: explicit, $TASKREAPER_BINARY, else the release build, else debug."""
    for candidate in (explicit, os.environ.get("TASKREAPER_BINARY"),
                      os.path.join(REPO, ".build/release/taskreaper"), os.path.join(REPO, ".build/debug/taskreaper")):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise SystemExit("no taskreaper binary: build it (swift build -c release) or pass --binary")


def now_ms():
    return int(time.time() * 1000)


# --- bundles, as the harness writes them ---------------------------------------------------------

def task_json(task_id, status, started_at, child_pid=None, pgid=None, delivered=False, exit_code=None,
              session_id="ses_fault", extra=()):
    """A schema-4 record laid out like serde_json::to_vec_pretty (2-space indent, no final newline).
    `extra`: (key, value) pairs appended after the seed's keys (a newer harness's fields)."""
    terminal = status in TERMINAL
    values = {"schema_version": 4, "task_id": task_id, "session_id": session_id, "command": "sleep 1",
              "mode": "pipes", "workdir": "/tmp", "project_root": None, "status": status, "started_at": started_at,
              "finished_at": started_at + 1000 if terminal else None, "duration_ms": 1000 if terminal else None,
              "timeout_ms": None, "exit_code": exit_code, "child_pid": child_pid, "pgid": pgid,
              "completion_delivered": delivered, "notify_on_completion": True, "compressed": True,
              "pty_rows": None, "pty_cols": None, "status_reason": None}
    pairs = [(k, values[k]) for k in KEYS] + list(extra)
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in pairs) + "\n}"


def write(path, content, age_s=None):
    """Writes content (str or bytes) to path; age_s backdates its mtime and atime."""
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    if age_s is not None:
        t = time.time() - age_s
        os.utime(path, (t, t))


def write_atomically(path, content, tag):
    """The harness's write: temp beside the file, then rename over it (one step for readers)."""
    temp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp.{os.getpid()}.{tag}")
    write(temp, content)
    os.rename(temp, path)


def session_dir(root, session="0123456789abcdef", harness="opencode"):
    path = os.path.join(root, harness, "bash-tasks", session) if harness else os.path.join(root, "bash-tasks", session)
    os.makedirs(path, exist_ok=True)
    return path


def gone_pid():
    """The pid of a process that has exited and been reaped: a task naming it is gone."""
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    return p.pid


def session_dirs(root):
    """Every session directory under root's bash-tasks trees (legacy and per harness)."""
    trees = [os.path.join(root, "bash-tasks")] + [os.path.join(root, h, "bash-tasks") for h in sorted(os.listdir(root))
                                                  if os.path.isdir(os.path.join(root, h, "bash-tasks"))]
    for tree in trees:
        if os.path.isdir(tree) and not os.path.islink(tree):
            for s in sorted(os.listdir(tree)):
                if os.path.isdir(os.path.join(tree, s)):
                    yield os.path.join(tree, s)


# --- what every fault ends with --------------------------------------------------------------

def tree_problems(root, orphans=(), corrupt=()):
    """Broken invariants of a tree after any fault: a JSON that does not parse (a torn write), a
    bundle member whose JSON is gone (removal takes the JSON last). `orphans`: member paths that
    had no JSON to begin with; `corrupt`: JSONs written unparseable on purpose. Temps are not
    looked at: the next pass settles them."""
    problems = []
    for session in session_dirs(root):
        names = set(os.listdir(session))
        for name in sorted(names):
            path = os.path.join(session, name)
            stem, _, ext = name.rpartition(".")
            if name.startswith("."):
                continue
            if ext == "json" and path not in corrupt:
                try:
                    with open(path, "rb") as f:
                        json.loads(f.read())
                except (ValueError, OSError) as e:
                    problems.append(f"{path}: does not parse ({e})")
            elif ext in MEMBERS and f"{stem}.json" not in names and path not in orphans:
                problems.append(f"{path}: member outlived its JSON")
    return problems


def snapshot(root):
    """The tree as a comparable value: every file by relative path, JSONs parsed with the
    moment-dependent fields (finished_at, duration_ms) dropped, other files by content; temps
    and lock side files excluded. Two runs that made the same decisions compare equal."""
    state = {}
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            if name.startswith(".") or name.startswith("aft.db"):
                continue
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            with open(path, "rb") as f:
                data = f.read()
            if name.endswith(".json"):
                try:
                    obj = json.loads(data)
                    if isinstance(obj, dict):
                        obj.pop("finished_at", None)
                        obj.pop("duration_ms", None)
                    state[rel] = obj
                    continue
                except ValueError:
                    pass
            state[rel] = data
        for d in dirs:
            state.setdefault(os.path.relpath(os.path.join(directory, d), root) + "/", "dir")
    return state


def diff(a, b, limit=10):
    """The first differences between two snapshots, as lines (for JSONs: the differing keys)."""
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x != y:
            if isinstance(x, dict) and isinstance(y, dict):
                fields = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                out.append(f"{key}: " + ", ".join(f"{k} {x.get(k)!r} != {y.get(k)!r}" for k in fields))
            else:
                out.append(f"{key}: {str(x)[:120]} != {str(y)[:120]}")
            if len(out) >= limit:
                break
    return out


def run(binary_path, *args, timeout=120, check_status=None):
    """Runs taskreaper; returns the CompletedProcess (stdout, stderr as text)."""
    p = subprocess.run([binary_path, *args], capture_output=True, text=True, timeout=timeout)
    if check_status is not None and p.returncode not in check_status:
        raise SystemExit(f"taskreaper {' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
    return p


def json_lines(text):
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


# --- scratch file systems and kernel settings, always undone -----------------------------------

def require_root(what):
    if os.geteuid() != 0:
        print(f"SKIP: {what} needs root", file=sys.stderr)
        sys.exit(77)


@contextlib.contextmanager
def tmpfs(options, prefix="taskreaper-fault-"):
    """A fresh tmpfs (mount -o `options`, e.g. "size=1M" or "size=16M,nr_inodes=80") at a temp
    directory; unmounted and removed on the way out, whatever happened (a busy mount is
    detached lazily)."""
    require_root("mounting a tmpfs")
    mountpoint = tempfile.mkdtemp(prefix=prefix)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"{options},mode=0755", "tmpfs", mountpoint], check=True)
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", mountpoint], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        os.rmdir(mountpoint)


def remount(mountpoint, mode):
    """Remounts a tmpfs read-only ("ro") or read-write ("rw")."""
    subprocess.run(["mount", "-o", f"remount,{mode}", mountpoint], check=True)


@contextlib.contextmanager
def sysctl(path, value):
    """Writes a /proc/sys value for the duration, then restores what was there."""
    require_root(f"changing {path}")
    with open(path) as f:
        before = f.read().strip()
    with open(path, "w") as f:
        f.write(str(value))
    try:
        yield before
    finally:
        with open(path, "w") as f:
            f.write(before)


@contextlib.contextmanager
def scratch_dir(prefix="taskreaper-fault-", parent=None):
    """A temp directory (in parent, default $TMPDIR) removed on the way out (links inside are
    removed, never followed)."""
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", path])


@contextlib.contextmanager
def watching(binary_path, root, *extra, log=None, ready_timeout=60, control_socket="none"):
    """`taskreaper watch --root root` running for the duration (output to `log`, a file object),
    returned once its first pass is done (sd_notify READY=1 on a socket of ours); SIGTERM and a
    wait on the way out (SIGKILL after 10 s). `control_socket`: a path to serve `ctl` on
    (ctl_status reads its counters: the stable interface, unlike the console lines)."""
    with scratch_dir("taskreaper-notify-") as sockdir:
        path = os.path.join(sockdir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        ready, stop = threading.Event(), threading.Event()

        def drain():
            # Read every message for as long as watch runs, as systemd does: a datagram socket
            # whose queue fills up blocks the sender (STATUS= comes once a second).
            while not stop.is_set():
                try:
                    if b"READY=1" in sock.recv(4096):
                        ready.set()
                except socket.timeout:
                    continue
                except OSError:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        p = subprocess.Popen([binary_path, "watch", "--root", root, "--control-socket", control_socket,
                              "--log-target", "stderr", "--verbose", *extra], env=dict(os.environ, NOTIFY_SOCKET=path),
                             stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + ready_timeout
            while time.monotonic() < deadline and p.poll() is None and not ready.wait(0.05):
                pass
            yield p
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            stop.set()
            reader.join()
            sock.close()


def ctl_status(binary_path, control_socket):
    """`taskreaper ctl status` of a running watch, parsed (its "counts" are per action)."""
    p = subprocess.run([binary_path, "ctl", "--socket", control_socket, "status"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"ctl status exit {p.returncode}: {p.stdout} {p.stderr}")
    return json.loads(p.stdout)


def wait_for(condition, timeout, interval=0.02):
    """Polls condition() until it is true (returns True) or timeout s pass (returns False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


# --- reports --------------------------------------------------------------------------------

def machine():
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    return (f"{os.cpu_count()} CPUs ({model}), {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') >> 30} GiB, "
            f"kernel {platform.release()}")


def write_report(kind, title, command, started, body_lines):
    """bench-results/<kind>-<UTC yyyymmdd-HHMM>.md with the command, date and machine; returns its path."""
    finished = datetime.datetime.now(datetime.timezone.utc)
    stamp = f"{kind}-{started:%Y%m%d-%H%M}"
    directory = os.path.join(REPO, "bench-results")
    os.makedirs(directory, exist_ok=True)
    path, k = os.path.join(directory, f"{stamp}.md"), 2
    while os.path.exists(path):
        path, k = os.path.join(directory, f"{stamp}-{k}.md"), k + 1
    head = [f"# {title}", "", f"Command: `{command}`  ",
            f"Date: {started:%Y-%m-%d %H:%M:%S} – {finished:%H:%M:%S} UTC  ", f"Machine: {machine()}", ""]
    with open(path, "w") as f:
        f.write("\n".join(head + body_lines) + "\n")
    print(f"written to {os.path.relpath(path, REPO)}", file=sys.stderr)
    return path


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)
