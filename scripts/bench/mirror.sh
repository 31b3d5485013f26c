#!/usr/bin/env bash
# The aft.db mirror benchmark, one command:
#
#     scripts/bench/mirror.sh [N [M]]        # N delivered bundles (default 20000), M finalizations (2000)
#
# Builds the release binary, then, on identical `cp -a` copies of one generated tree (N bundles
# of 4 files in N/20 sessions under opencode/ and pi/, all 2 h old and delivered, plus <root>/aft.db
# in WAL mode with the harness's bash_tasks table: one row per bundle and N rows of tasks not on
# disk), times in interleaved rounds:
#   (a) taskreaper sweep --root ROOT --log-target stderr 2>/dev/null     (the feature: rows deleted)
#   (b) the same on a copy without aft.db                                  (what the database costs)
#   (c) find ROOT/{opencode,pi}/bash-tasks -mindepth 1 -delete, then ONE sqlite3 bulk DELETE of the
#       same rows in one transaction                                       (the floor)
# then a finalization scenario: M running tasks whose process is gone, each with an exit marker
# "0", rows status running; `taskreaper sweep --finalize-grace 0` with and without aft.db.
# After every run: exit status 0, no bundle file left, the removed bundles' rows gone, the extra
# rows unchanged, PRAGMA integrity_check = ok; finalized rows equal to their JSONs. A failed check
# stops the benchmark with exit 1 and keeps BENCH_DIR. Prints a markdown report (wall and CPU per
# run, medians, ratios a/c and a/b) and writes bench-results/mirror-<UTC yyyymmdd-HHMM>.md.
# Installs nothing: missing tools are reported (scripts/install-deps.sh installs them).
#
# Environment (all optional):
#   N=20000 M=2000                sizes (the arguments win)
#   ROUNDS=3                      rounds of each variant
#   BUILD=1                       0: do not build, use .build-bench/release/taskreaper as it is
#   BENCH_DIR=/var/tmp/taskreaper-mirror-bench   where trees are generated and copied (one file
#                                 system; e.g. /dev/shm/taskreaper-mirror-bench for tmpfs)
#   SETTLE=1.1                    seconds of rest after copy+sync, before every timed run
#   QUIET=0.3 QUIET_MAX=120       before every timed run, wait (at most QUIET_MAX s) until the rest of
#                                 the machine uses < QUIET cores (0: neither wait nor redo)
#   REDO=2                        a run during which the rest of the machine used > QUIET cores on
#                                 average is run again on a fresh copy (at most REDO times)
#   RUN_TIMEOUT=600               seconds before a timed run is killed (and the benchmark fails)
#   KEEP=0                        1: keep BENCH_DIR afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
cmdline="scripts/bench/mirror.sh${*:+ $*}"
for v in N M ROUNDS BUILD BENCH_DIR SETTLE QUIET QUIET_MAX REDO RUN_TIMEOUT KEEP; do
  [ -n "${!v:-}" ] && cmdline="$v=${!v} $cmdline"
done
export BENCH_CMDLINE="$cmdline"

missing=()
for t in python3 sqlite3 find cp findmnt sha256sum timeout; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "mirror-bench: missing ${missing[*]} (scripts/install-deps.sh installs them)" >&2
  exit 1
fi

export PATH=/opt/swift/usr/bin:$PATH
if [ "${BUILD:-1}" != 0 ]; then
  timeout 3600 swift build -c release --product taskreaper --scratch-path .build-bench >&2 \
    || { echo "mirror-bench: the release build failed" >&2; exit 1; }
fi
export BIN="$PWD/.build-bench/release/taskreaper"
exec python3 scripts/bench/mirror_bench.py "$@"
