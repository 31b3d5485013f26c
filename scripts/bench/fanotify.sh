#!/usr/bin/env bash
# watch with inotify against watch with fanotify, on the same trees in the same run (issue #14
# goal 3): scripts/bench/fanotify.sh (as root: fanotify file system marks need CAP_SYS_ADMIN).
# Writes bench-results/fanotify-*.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release >&2
exec python3 scripts/bench/fanotify_bench.py "$@"
