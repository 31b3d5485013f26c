#!/usr/bin/env python3
"""Hostile clients on watch's control socket: every one gets an error line or is dropped,
none locks others out, the daemon goes on.

usage: ctl-abuse.py [--rounds N] [--binary B] [--report]

Against one `taskreaper watch --control-socket PATH`, N times:

  oversized   a 64 KiB request without a newline (sent as far as the socket takes it) must
              be answered `{"ok":false,...}` "request longer than 1024 bytes", readable by the
              client (not ECONNRESET in place of the line);
  just-over   1025 bytes and a newline: the same error line;
  garbage     random bytes and a newline: `{"ok":false,...}`;
  hoarder     one client holds 40 silent connections; meanwhile another client's
              `taskreaper ctl status` must be answered (exit 0);
  stalled     a client that sends nothing is answered "timed out" and dropped after 5 s
              (once per run: it takes 5 s);

and after all of it `ctl status` answers ok and the daemon still runs.
Exit status: 0 when everything held, 1 otherwise (printed).
"""
import argparse, json, os, random, socket, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)  # blocking: waits while the listen backlog is full
    s.settimeout(10)
    return s


def request(path, data):
    """Sends data (as much as the socket takes), then reads the answer line; returns (line, error)."""
    s = connect(path)
    try:
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 2
        while sent < len(data) and time.monotonic() < deadline:
            try:
                sent += s.send(data[sent:])
            except BlockingIOError:
                time.sleep(0.005)
            except OSError:
                break  # the daemon stopped reading (and answered): read what it said
        s.settimeout(10)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace").strip(), None
    except OSError as e:
        return None, f"{type(e).__name__}: {e}"
    finally:
        s.close()


def answer_is_error(line, text=None):
    try:
        obj = json.loads(line or "")
    except ValueError:
        return False
    return obj.get("ok") is False and (text is None or text in obj.get("error", ""))


def ctl_status(binary, path):
    p = subprocess.run([binary, "ctl", "--socket", path, "status"], capture_output=True, text=True, timeout=30)
    ok = p.returncode == 0 and json.loads(p.stdout or "{}").get("ok") is True
    return ok, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--binary")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    binary = faultlib.binary(a.binary)
    started = faultlib.utcnow()
    rng = random.Random(1)
    counts = {k: [0, 0] for k in ["oversized", "just-over", "garbage", "hoarder", "stalled", "status after"]}
    failures = []

    def check(case, ok, detail):
        counts[case][0 if ok else 1] += 1
        if not ok and len(failures) < 20:
            failures.append(f"{case}: {detail}")

    with faultlib.scratch_dir("taskreaper-ctl-") as base:
        root = os.path.join(base, "root")
        os.makedirs(root)
        sock = os.path.join(base, "ctl.sock")
        with faultlib.watching(binary, root, control_socket=sock) as w:
            for r in range(a.rounds):
                line, err = request(sock, b"x" * 65536)
                check("oversized", answer_is_error(line, "longer than 1024"), err or line)
                line, err = request(sock, b"s" * 1025 + b"\n")
                check("just-over", answer_is_error(line, "longer than 1024"), err or line)
                junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 900))).replace(b"\n", b"") + b"\n"
                line, err = request(sock, junk)
                check("garbage", answer_is_error(line), err or line)
                hoard = [connect(sock) for _ in range(40)]
                ok, p = ctl_status(binary, sock)
                check("hoarder", ok, f"ctl status exit {p.returncode}: {p.stdout.strip()} {p.stderr.strip()}")
                for s in hoard:
                    s.close()
            s = connect(sock)
            t0 = time.monotonic()
            line = s.recv(4096).decode(errors="replace").strip()
            check("stalled", answer_is_error(line, "timed out") and 4 <= time.monotonic() - t0 <= 8, line)
            s.close()
            ok, p = ctl_status(binary, sock)
            check("status after", ok and w.poll() is None, f"ctl status exit {p.returncode}, daemon alive {w.poll() is None}")
    rows = ["| case | answered as required | not |", "|---|---|---|"] + [f"| {k} | {v[0]} | {v[1]} |" for k, v in counts.items()]
    print("\n".join(rows))
    for f in failures:
        print("FAIL:", f)
    if a.report:
        body = [f"{a.rounds} rounds against one watch."] + [""] + rows + ([""] + [f"- {f}" for f in failures] if failures else [])
        faultlib.write_report("ctl-abuse", "Hostile control-socket clients (issue 11, fault suite)",
                              "scripts/fault/ctl-abuse.py " + " ".join(sys.argv[1:]), started, body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
