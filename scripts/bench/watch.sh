#!/usr/bin/env bash
# The watch benchmarks, one command: scripts/bench/watch.sh
# Latency (marker and death to finalized), idle CPU, RSS and watches at 10 000 sessions /
# 100 000 bundles, and a burst of 10 000 removals against sweep; writes bench-results/watch-*.md.
# BIG=1 adds the 100 000-session / 1 000 000-file scale (first pass, RSS, idle CPU, marker latency
# under load, inotify overflow recovery; ~10 min, root for the overflow part); BIG_ONLY=1 runs it
# alone. See the header of watch_bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release >&2
exec python3 scripts/bench/watch_bench.py "$@"
