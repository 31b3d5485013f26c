#!/usr/bin/env bash
# See every kind of taskreaper action on a throw-away tree:
#   examples/demo.sh            (builds the debug binary if needed)
# 1. builds a demo root (examples/make-demo-tree.py), with one real live task;
# 2. `sweep --dry-run --json`: what would happen (the tree is checked byte-identical after);
# 3. `sweep`: does it, then shows what is left.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
bin=${TASKREAPER:-.build/debug/taskreaper}
[ -x "$bin" ] || swift build >&2
root=$(mktemp -d /tmp/taskreaper-demo.XXXXXX)
setsid sleep 600 & live=$!
trap 'kill $live 2>/dev/null; rm -rf "$root"' EXIT
python3 examples/make-demo-tree.py "$root" --live-pid "$live"
snapshot() { (cd "$root" && find . -printf '%p %y %s %T@\n' | sort && find . -type f -exec md5sum {} + | sort); }
before=$(snapshot)
echo "== dry run: what would happen (JSON lines) =="
"$bin" sweep --root "$root" --dry-run --json --log-target stderr 2>/dev/null || true
[ "$before" = "$(snapshot)" ] && echo "(dry run left the tree byte-identical)"
echo
echo "== sweep =="
"$bin" sweep --root "$root" --log-target stderr || echo "(exit status $?)"
echo
echo "== left in $root =="
(cd "$root" && find . -mindepth 1 | sort)
