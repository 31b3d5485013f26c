#!/usr/bin/env python3
"""Random hostile JSONs, markers and names through the built binary: no crash, no escape,
nothing torn, dry run untouched, a second pass has nothing left to do.

usage: fuzz.py [--iterations N] [--bundles K] [--seed S] [--binary B] [--keep DIR] [--report]

Each iteration writes a session of K bundles made from valid records by random mutations
(bytes flipped, inserted, cut; keys duplicated; numbers swapped for extremes; values for other
types; deep nesting; odd strings), random markers (codes, words, whitespace, bytes) and random
names (dots, spaces, newlines, non-ASCII, bytes that are not UTF-8, long), in a session and a
harness directory whose names may be bytes that are not UTF-8 too (issue 11.5), plus stray temps
of a gone writer and links pointing out of the tree. Then:

  - `sweep --dry-run --json` exits 0 or 1 and leaves every byte as it was;
  - `sweep --json` exits 0 or 1 (1 only with an `error` line), every line parses, every path
    reported is inside the root, and nothing outside the root changed;
  - every regular `<id>.json` left is its input byte for byte or a terminal record that parses;
  - a second `sweep` finalizes, removes and quarantines nothing (the first one was complete).

A failing input is kept in --keep (default: printed only) to be added to Tests/Fixtures/HostileCorpus.
Exit status: 0 when every iteration held, 1 otherwise.
"""
import argparse, json, os, random, shutil, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402

EXTREMES = ["0", "-1", "1", "4294967295", "4294967296", "2147483648", "-2147483649", "9223372036854775807",
            "18446744073709551615", "18446744073709551616", "1e308", "1.5", "-0", "0.0", "1E3", '"12"', "null", "true",
            "[]", "{}", '""']
STRINGS = ['"\\u0000"', '"\\ud800"', '"é"', '"\\n\\t"', '"../../etc/passwd"', '"' + "x" * 5000 + '"', '"\\"', '"\u202e"']
MARKERS = [b"0", b"1", b"-1", b"killed", b"KILLED", b" 0 ", b"\n\n0\n", b"", b" ", b"2147483648", b"+0", b"0x1", b"1e2",
           b"killed\n0", b"\xff", b"\x00", "\u30000\u3000".encode(), b" " * 5000 + b"0"]
# "\udcff", "\udcc3": the bytes 0xff and 0xc3 (Python's surrogateescape): names that are not UTF-8.
NAME_CHARS = "abcdef0123456789-_. \n\u00e9\u202e\udcff\udcc3\\"
SESSIONS = ["0123456789abcdef", "\udcff\udcfe", "\udcff\udcfd", "s\udcc3("]
HARNESSES = ["opencode", "o\udcff"]


def mutate_record(rng, text):
    choice = rng.randrange(9)
    if choice == 0:  # flip bytes
        b = bytearray(text.encode())
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if choice == 1:  # cut
        return text.encode()[:rng.randrange(len(text))]
    if choice == 2:  # duplicate a key line
        lines = text.split("\n")
        i = rng.randrange(1, len(lines) - 1)
        line = lines[i].rstrip(",")
        lines.insert(i, line + ",")
        return "\n".join(lines).encode()
    if choice in (3, 4):  # a value swapped for an extreme or another type
        key = rng.choice(faultlib.KEYS)
        value = rng.choice(EXTREMES + STRINGS)
        return text.replace(f'"{key}": ', f'"{key}": {value}, "_was_{key}": ', 1).encode()
    if choice == 5:  # deep nesting in an unknown key
        depth = rng.choice([10, 200, 600, 5000])
        return text.replace("\n}", f',\n  "deep": {"[" * depth}{"]" * depth}\n}}').encode()
    if choice == 6:  # insert random bytes
        b = text.encode()
        i = rng.randrange(len(b))
        return b[:i] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8))) + b[i:]
    if choice == 7:  # a valid record with odd but legal content
        return text.replace('"command": "sleep 1"', f'"command": {rng.choice(STRINGS)}').encode()
    return text.encode()  # unchanged: a real task among the noise


def random_name(rng):
    n = rng.choice([1, 3, 8, 20, 120, 240])
    return "".join(rng.choice(NAME_CHARS) for _ in range(n)).replace("/", "_") or "x"


def build(session, rng, bundles, outside, gone):
    for i in range(bundles):
        task_id = f"bgb-{i:08x}" if rng.random() < 0.7 else random_name(rng)
        status = rng.choice(["running", "running", "killing", "starting", "completed", "failed"])
        started = faultlib.now_ms() - rng.choice([0, 60_000, 3 * faultlib.HOUR_MS, 40 * 24 * faultlib.HOUR_MS])
        # The record's own task_id is text (the harness's String); the file name may be bytes.
        text_id = task_id if "\n" not in task_id and task_id.isprintable() and all(ord(c) < 0xd800 for c in task_id) else "x"
        text = faultlib.task_json(text_id, status, started,
                                  child_pid=gone if status not in faultlib.TERMINAL else None, pgid=gone,
                                  delivered=rng.random() < 0.5, exit_code=0 if status in faultlib.TERMINAL else None)
        data = mutate_record(rng, text)
        age = rng.choice([None, 120, 7200, 90000])
        try:
            faultlib.write(os.path.join(session, task_id + ".json"), data, age_s=age)
            if rng.random() < 0.6:
                faultlib.write(os.path.join(session, task_id + ".exit"), rng.choice(MARKERS), age_s=rng.choice([None, 3600]))
            if rng.random() < 0.5:
                faultlib.write(os.path.join(session, task_id + ".stdout"), b"out", age_s=age)
            if rng.random() < 0.1:
                os.symlink(os.path.join(outside, "target"), os.path.join(session, task_id + rng.choice([".stderr", ".exit", ".json"])))
        except OSError:
            pass  # a name the file system refuses (too long): not written
    for _ in range(rng.randrange(3)):
        # A stray temp of a gone writer: `<name>` is free, so it may be bytes.
        temp = f".{random_name(rng)}.json.tmp.{gone}.bgb-1".replace("\n", "_")
        try:
            faultlib.write(os.path.join(session, temp), b"{", age_s=rng.choice([None, 120]))
        except OSError:
            pass
    if rng.random() < 0.3:
        os.symlink(outside, os.path.join(session, "bgb-link"))


def files(root):
    out = {}
    for d, dirs, names in os.walk(root):
        for n in names + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.readlink(p) if os.path.islink(p) else open(p, "rb").read() if os.path.isfile(p) else "special"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--bundles", type=int, default=30)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--binary")
    ap.add_argument("--keep")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    binary = faultlib.binary(a.binary)
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = faultlib.utcnow()
    failures, actions, bundles = [], {}, 0
    gone = faultlib.gone_pid()
    with faultlib.scratch_dir("taskreaper-fuzz-") as base:
        outside = os.path.join(base, "outside")
        os.makedirs(outside)
        faultlib.write(os.path.join(outside, "target"), "must stay")
        for it in range(a.iterations):
            root = os.path.join(base, "root")
            shutil.rmtree(root, ignore_errors=True)
            session = faultlib.session_dir(root, rng.choice(SESSIONS), harness=rng.choice(HARNESSES))
            build(session, rng, a.bundles, outside, gone)
            bundles += a.bundles
            inputs, outside_before = files(root), files(outside)
            problems = []
            dry = faultlib.run(binary, "sweep", "--root", root, "--json", "--dry-run", "--finalize-grace", "0s")
            if dry.returncode not in (0, 1):
                problems.append(f"dry run exit {dry.returncode}: {dry.stderr[-300:]}")
            if files(root) != inputs:
                problems.append("the dry run changed the tree")
            p = faultlib.run(binary, "sweep", "--root", root, "--json", "--finalize-grace", "0s")
            lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()] if p.stdout else []
            kinds = [l.get("action") for l in lines]
            for k in kinds:
                actions[k] = actions.get(k, 0) + 1
            if p.returncode not in (0, 1) or (p.returncode == 1) != ("error" in kinds):
                problems.append(f"exit {p.returncode} with actions {sorted(set(kinds))}: {p.stderr[-300:]}")
            if not kinds or kinds[-1] != "summary":
                problems.append("no summary line last")
            for l in lines:
                path = l.get("path", root)
                if not (path == root or path.startswith(root + "/") or path.startswith(os.path.join(base, "root"))):
                    problems.append(f"a report names a path outside the root: {path}")
            if files(outside) != outside_before:
                problems.append("something outside the root changed")
            if os.path.isdir(session):
                for name in os.listdir(session):
                    path = os.path.join(session, name)
                    if not name.endswith(".json") or name.startswith(".") or os.path.islink(path) or not os.path.isfile(path):
                        continue
                    data = open(path, "rb").read()
                    if data == inputs.get(os.path.relpath(path, root)):
                        continue
                    try:
                        doc = json.loads(data)
                        if doc.get("status") not in faultlib.TERMINAL:
                            problems.append(f"{name}: rewritten but not terminal")
                    except ValueError:
                        problems.append(f"{name}: rewritten and does not parse")
            again = faultlib.run(binary, "sweep", "--root", root, "--json", "--finalize-grace", "0s")
            redo = [l for l in faultlib.json_lines(again.stdout)
                    if l.get("action") in ("finalize", "remove_bundle", "quarantine", "write_kill_marker")]
            if redo:
                problems.append(f"a second pass still acted: {[(l['action'], l.get('path')) for l in redo[:3]]}")
            if problems:
                failures += [f"iteration {it}: {x}" for x in problems]
                if a.keep:
                    shutil.copytree(root, os.path.join(a.keep, f"iteration-{it}"), symlinks=True, dirs_exist_ok=True)
                    # The inputs as written, for the corpus.
                    with open(os.path.join(a.keep, f"iteration-{it}.inputs.json"), "w") as fh:
                        json.dump({os.fsencode(k).hex(): v.hex() if isinstance(v, bytes) else v for k, v in inputs.items()}, fh)
    for f in failures[:30]:
        print("FAIL:", f)
    summary = f"{a.iterations} iterations, {bundles} bundles, seed {seed}: {len(failures)} failures"
    print(summary)
    print("actions:", json.dumps(dict(sorted(actions.items()))))
    if a.report:
        body = [summary, "", "Actions reported over all first passes:", "",
                "| action | count |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sorted(actions.items())]
        body += ["", "Failures:", ""] + [f"- {f}" for f in failures[:30]] if failures else []
        faultlib.write_report("fuzz", "Random hostile inputs through sweep (issue 11, fault suite)",
                              "scripts/fault/fuzz.py " + " ".join(sys.argv[1:]), started, body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
