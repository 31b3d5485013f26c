#!/usr/bin/env bash
# Cost growth of a sweep (issue 14, goal 4), one command:
#
#     scripts/bench/growth.sh [SIZES...]      # default 1000 10000 100000 delivered bundles
#
# Builds the release binary, then for ext4 (/var/tmp) and a tmpfs (/dev/shm) and every size
# times `find -delete`, `systemd-tmpfiles --clean` and `taskreaper sweep` (journald when one
# answers) on fresh copies of one tree, as scripts/bench/sweep-vs-peers.sh does (its functions),
# and writes one table of wall time, CPU and max RSS, in total and per bundle, to
# bench-results/growth-<UTC>.md. Environment: ROUNDS=3, FILESYSTEMS="label=dir ...", BUILD=1,
# KEEP=0, and sweep-vs-peers.sh's QUIET, QUIET_MAX, REDO, SETTLE, LOG_TARGET.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmdline="scripts/bench/growth.sh${*:+ $*}"
for v in ROUNDS FILESYSTEMS BUILD KEEP QUIET QUIET_MAX REDO SETTLE LOG_TARGET; do
  [ -n "${!v:-}" ] && cmdline="$v=\"${!v}\" $cmdline"
done
export BENCH_CMDLINE="$cmdline"
for t in python3 systemd-tmpfiles find cp findmnt; do
  command -v "$t" >/dev/null 2>&1 || { echo "growth: missing $t (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
export PATH=/opt/swift/usr/bin:$PATH
if [ "${BUILD:-1}" != 0 ]; then
  swift build -c release --product taskreaper >&2 || { echo "growth: the release build failed" >&2; exit 1; }
fi
export BIN="$PWD/.build/release/taskreaper"
if [ "${LOG_TARGET:-auto}" != stderr ] && [ -x scripts/start-journald.sh ]; then
  scripts/start-journald.sh || echo "growth: no journald; taskreaper will log to stderr" >&2
fi
exec python3 scripts/bench/growth.py "$@"
