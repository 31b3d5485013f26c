#!/usr/bin/env bash
# CPU per bundle of the sweep, and where it goes (issue 14, goal 2), one command:
#
#     scripts/bench/profile.sh [N]          # N delivered bundles on a tmpfs, default 20000
#
# Builds the release binary, then times `taskreaper sweep --log-target stderr 2>/dev/null`
# (user+sys from the child's rusage) over fresh copies of one tree, counts allocations per
# bundle, and records one `perf record -e cpu-clock -g` profile. Writes
# bench-results/profile-<UTC>.md. To compare builds, name them:
#     BINS="before=/tmp/taskreaper-old after=.build/release/taskreaper" scripts/bench/profile.sh
# Environment: BINS, ROUNDS=5, BENCH_DIR=/dev/shm/taskreaper-profile, PERF=1, TOP=25, BUILD=1, KEEP=0
# (scripts/bench/cpu_profile.py says more). perf comes from Debian's linux-perf.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmdline="scripts/bench/profile.sh${*:+ $*}"
for v in BINS ROUNDS BENCH_DIR PERF TOP BUILD KEEP; do
  [ -n "${!v:-}" ] && cmdline="$v=\"${!v}\" $cmdline"
done
export BENCH_CMDLINE="$cmdline"
export PATH=/opt/swift/usr/bin:$PATH
if [ "${BUILD:-1}" != 0 ]; then
  swift build -c release --product taskreaper >&2 || { echo "profile: the release build failed" >&2; exit 1; }
fi
export BIN="$PWD/.build/release/taskreaper"
command -v perf >/dev/null || echo "profile: no perf (apt-get install linux-perf): timing only" >&2
exec python3 scripts/bench/cpu_profile.py "$@"
