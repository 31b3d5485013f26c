#!/usr/bin/env python3
"""Puts a writer's rename at an exact point of taskreaper's work on one file, deterministically.

usage: writer-at-open.py JSON NEW_CONTENT_FILE [--at-open N] [--timeout S]

Marks JSON's inode with fanotify (FAN_OPEN_PERM, root only). Every open of that inode waits
for our answer. On the N-th open (default 2: taskreaper's first open reads the record it
decides from; its second is the last look before it replaces it), the content of
NEW_CONTENT_FILE is written over JSON the way the harness writes (temp + rename: a new inode),
and only then is the open let through. The opener holds the old inode, the name holds the
writer's version: exactly the window in which check-then-rename loses the writer's version
(issue 11.2). Prints "ready" once the mark is set and "renamed" after the rename.

Exit 0 when the rename happened, 3 when the N-th open never came within the timeout,
77 when not root.
"""
import argparse, ctypes, os, select, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402

FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_OPEN_PERM, FAN_MARK_ADD, FAN_ALLOW = 0x4, 0x1, 0x10000, 0x1, 0x1
EVENT = struct.Struct("IBBHQii")  # fanotify_event_metadata: event_len, vers, reserved, metadata_len, mask, fd, pid
RESPONSE = struct.Struct("iI")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("new_content")
    ap.add_argument("--at-open", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    faultlib.require_root("fanotify")
    with open(a.new_content, "rb") as f:
        new = f.read()

    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    fan = libc.fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, os.O_RDONLY)
    if fan < 0 or libc.fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, -100, os.fsencode(a.json)) != 0:
        print(f"fanotify: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    print("ready", flush=True)

    opens, deadline = 0, time.monotonic() + a.timeout
    while opens < a.at_open:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fan], [], [], left)[0]:
            print(f"only {opens} open(s) of {a.json} within {a.timeout} s", file=sys.stderr)
            return 3
        data = os.read(fan, 4096)
        offset = 0
        while offset < len(data):
            length, _, _, _, mask, fd, _ = EVENT.unpack_from(data, offset)
            offset += length
            if mask & FAN_OPEN_PERM:
                opens += 1
                if opens == a.at_open:
                    faultlib.write_atomically(a.json, new, "writer-at-open")
                    print("renamed", flush=True)
                os.write(fan, RESPONSE.pack(fd, FAN_ALLOW))
            os.close(fd)
    os.close(fan)  # any later open of the inode goes through unasked
    return 0


if __name__ == "__main__":
    sys.exit(main())
