#!/usr/bin/env bash
# The `taskreaper list` benchmark (issue 13.1: 20 000 bundles in well under a second on ext4):
#
#     scripts/bench/list.sh [N]          # N bundles per tree, default 20000
#
# Builds the release binary, generates two trees of N bundles (4 files each, N/20 sessions):
# `live` (running tasks of one real `setsid sleep`: every task is probed) and `delivered`
# (terminal, due for removal), then times `taskreaper list --all` as a table and as --json
# lines (output to /dev/null) against reading every JSON with `find -exec cat`, warm and with
# caches dropped (root only), ROUNDS times each, checking the tree is unchanged after every
# list and that it listed N tasks. Writes bench-results/list-<UTC>.md.
#
# Environment: ROUNDS=5, BENCH_DIR=/var/tmp/taskreaper-bench-list (must be the file system
# to measure; default ext4 here), DROP_CACHES=1 (0 to skip the cold runs), BUILD=1, KEEP=0.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmdline="scripts/bench/list.sh${*:+ $*}"
for v in ROUNDS BENCH_DIR DROP_CACHES BUILD KEEP; do
  [ -n "${!v:-}" ] && cmdline="$v=${!v} $cmdline"
done
export BENCH_CMDLINE="$cmdline"
export PATH=/opt/swift/usr/bin:$PATH
if [ "${BUILD:-1}" != 0 ]; then
  swift build -c release --product taskreaper >&2 || { echo "list bench: the release build failed" >&2; exit 1; }
fi
export BIN="$PWD/.build/release/taskreaper"
exec python3 scripts/bench/list_bench.py "$@"
