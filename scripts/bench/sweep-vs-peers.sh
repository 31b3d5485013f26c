#!/usr/bin/env bash
# The sweep benchmark, one command:
#
#     scripts/bench/sweep-vs-peers.sh [N]          # N delivered bundles, default 20000
#
# Builds the release binary, then removes N delivered bundles (4 files each, N/20 sessions)
# with `find -delete`, `systemd-tmpfiles --clean` and `taskreaper sweep` on identical copies
# of one generated tree, in interleaved rounds (order rotated every round), verifying after
# every run that no bundle file is left and the exit status was 0. Then a no-op sweep over N
# live bundles (one real `setsid sleep`) against reading every JSON with find/cat, verifying
# that nothing changed. Prints a markdown report and writes bench-results/sweep-<UTC>.md.
#
# Environment (all optional):
#   ROUNDS=3                      rounds of each tool (and of the no-op pair)
#   SCRATCH=.build                swift build --scratch-path; the binary is $SCRATCH/release/taskreaper
#   BENCH_DIR=/var/tmp/taskreaper-bench   where trees are generated and copied (one file system)
#   DROP_CACHES=0                 1: `echo 3 > /proc/sys/vm/drop_caches` before every run (root)
#   TMPFILES_AGE=mM:1h            the age field of the tmpfiles `e` lines
#   SETTLE=1.1                    seconds to wait after copy+sync, before every timed run
#   LOG_TARGET=auto               taskreaper --log-target: auto = journal if journald answers, else stderr
#   EXTRA=1                       also time `taskreaper --log-target stderr 2>/dev/null` (logging cost)
#   KEEP=0                        1: keep BENCH_DIR afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
cmdline="scripts/bench/sweep-vs-peers.sh${*:+ $*}"
for v in ROUNDS SCRATCH BENCH_DIR DROP_CACHES TMPFILES_AGE SETTLE LOG_TARGET EXTRA KEEP; do
  [ -n "${!v:-}" ] && cmdline="$v=${!v} $cmdline"
done
export BENCH_CMDLINE="$cmdline"

# Tools: no hyperfine (timing is our own monotonic clock around each run).
missing=()
for t in python3 systemd-tmpfiles find cp setsid sha256sum findmnt; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "sweep-vs-peers: missing ${missing[*]}; running scripts/install-deps.sh" >&2
  scripts/install-deps.sh
fi
command -v systemd-tmpfiles >/dev/null || { echo "sweep-vs-peers: systemd-tmpfiles not found" >&2; exit 1; }

export PATH=/opt/swift/usr/bin:$PATH
SCRATCH="${SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" >&2
export BIN="$PWD/$SCRATCH/release/taskreaper"
case "$SCRATCH" in /*) BIN="$SCRATCH/release/taskreaper" ;; esac

# journald: taskreaper's production target. Start one if none answers (CI containers).
if [ "${LOG_TARGET:-auto}" != stderr ] && [ -x scripts/start-journald.sh ]; then
  scripts/start-journald.sh || echo "sweep-vs-peers: no journald; taskreaper will log to stderr" >&2
fi
exec python3 scripts/bench/sweep_vs_peers.py "$@"
