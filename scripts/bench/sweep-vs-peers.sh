#!/usr/bin/env bash
# The sweep benchmark, one command:
#
#     scripts/bench/sweep-vs-peers.sh [N]          # N delivered bundles, default 20000
#
# Builds the release binary, then removes N delivered bundles (4 files each, N/20 sessions)
# with `find -delete`, `systemd-tmpfiles --clean` and `taskreaper sweep` on identical copies
# of one generated tree, in interleaved rounds (order rotated every round), verifying after
# every run that no bundle file or session directory is left and the exit status was 0. Then a
# no-op sweep over N live bundles (one real `setsid sleep`) against reading every JSON with
# find/cat, verifying that nothing changed. Prints a markdown report and writes
# bench-results/sweep-<UTC>.md. If `taskreaper sweep --help` fails (no binary, or no sweep
# subcommand yet), taskreaper is skipped with a message and only the peers are measured.
# Installs nothing: missing tools are reported (scripts/install-deps.sh installs them).
#
# Environment (all optional):
#   ROUNDS=3                      rounds of each tool (and of the no-op pair)
#   SESSIONS=N/20                 session directories in the generated trees
#   SCRATCH=.build                swift build --scratch-path; the binary is $SCRATCH/release/taskreaper
#   BUILD=1                       0: do not build, use the binary already in $SCRATCH
#   BENCH_DIR=/var/tmp/taskreaper-bench   where trees are generated and copied (one file system)
#   DROP_CACHES=0                 1: `echo 3 > /proc/sys/vm/drop_caches` before every run (root)
#   TMPFILES_AGE=mM:1h            the age field of the tmpfiles `e` lines
#   SETTLE=1.1                    seconds to rest after copy+sync, before every timed run
#   QUIET=0.3 QUIET_MAX=120       before every timed run, wait (at most QUIET_MAX s) until the rest
#                                 of the machine uses < QUIET cores (0: neither wait nor redo)
#   REDO=3                        a run during which the rest of the machine used > QUIET cores on
#                                 average is discarded and run again (at most REDO times per slot)
#   LOG_TARGET=auto               taskreaper --log-target: auto = journal if journald answers, else stderr
#   EXTRA=1                       also time `taskreaper --log-target stderr 2>/dev/null` (logging cost)
#   KEEP=0                        1: keep BENCH_DIR afterwards
#   LAYOUTS="flat directory"      the layouts measured, one report each (bench-results/sweep-<UTC>.md
#                                 and sweep-directory-<UTC>.md): flat schema-4 bundles, and the
#                                 current harness's task directories (CONTRACT section 7)
set -euo pipefail
cd "$(dirname "$0")/../.."
cmdline="scripts/bench/sweep-vs-peers.sh${*:+ $*}"
for v in ROUNDS SESSIONS SCRATCH BUILD BENCH_DIR DROP_CACHES TMPFILES_AGE SETTLE QUIET QUIET_MAX REDO LOG_TARGET EXTRA KEEP LAYOUTS; do
  [ -n "${!v:-}" ] && cmdline="$v=${!v} $cmdline"
done
export BENCH_CMDLINE="$cmdline"

# Tools. No hyperfine: every run needs its own untimed copy and a check afterwards, and the
# tools are interleaved; the clock is our own (monotonic, around fork/exec/wait4).
missing=()
for t in python3 systemd-tmpfiles find cp du setsid sha256sum findmnt; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "sweep-vs-peers: missing ${missing[*]} (scripts/install-deps.sh installs them)" >&2
  exit 1
fi

export PATH=/opt/swift/usr/bin:$PATH
SCRATCH="${SCRATCH:-.build}"
if [ "${BUILD:-1}" != 0 ]; then
  swift build -c release --product taskreaper --scratch-path "$SCRATCH" >&2 \
    || { echo "sweep-vs-peers: the release build failed" >&2; exit 1; }
fi
export BIN="$PWD/$SCRATCH/release/taskreaper"
case "$SCRATCH" in /*) BIN="$SCRATCH/release/taskreaper" ;; esac

# journald: taskreaper's production target. Start one if none answers (CI containers).
if [ "${LOG_TARGET:-auto}" != stderr ] && [ -x scripts/start-journald.sh ]; then
  scripts/start-journald.sh || echo "sweep-vs-peers: no journald; taskreaper will log to stderr" >&2
fi
for layout in ${LAYOUTS:-flat directory}; do
  LAYOUT=$layout python3 scripts/bench/sweep_vs_peers.py "$@"
done
