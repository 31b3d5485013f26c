#!/usr/bin/env bash
# The sweep benchmark, one command: scripts/bench/sweep-vs-peers.sh [N]  (default 20000)
# Builds the release binary, then times taskreaper sweep, find -delete and
# systemd-tmpfiles --clean on identical trees of N delivered bundles (interleaved rounds,
# ROUNDS=3), plus a no-op sweep over N live bundles; writes bench-results/sweep-*.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release >&2
[ -S /run/systemd/journal/socket ] || scripts/start-journald.sh
exec python3 scripts/bench/sweep_vs_peers.py "$@"
