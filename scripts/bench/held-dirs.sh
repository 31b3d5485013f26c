#!/usr/bin/env bash
# What one HeldDirectories scan (CONTRACT §7.7: is a session directory held open by a live
# process?) costs, one command:
#
#     scripts/bench/held-dirs.sh
#
# Builds the test bundle optimised (-c release, with testing enabled, in .build-bench-tests), then
# runs HeldDirectoriesBenchmark: the scan on this machine as it is ("baseline"), then with
# PROCESSES extra processes each holding FDS descriptors, every extra one on a directory (the
# worst case: each costs a readlink and a stat). Prints one line per case: processes and
# descriptors scanned, wall-clock min/median/max and CPU median per scan.
#
# Environment (all optional):
#   PROCESSES=200 FDS=20 ROUNDS=20     sizes (FDS counts fds 0-2)
#   CONFIG=release                     or debug (uses the normal .build)
#   BUILD=1                            0: do not build
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
config=${CONFIG:-release}
scratch=(); flags=()
if [ "$config" = release ]; then
  scratch=(--scratch-path .build-bench-tests)
  flags=(-c release -Xswiftc -enable-testing)
fi
if [ "${BUILD:-1}" != 0 ]; then
  swift build --build-tests "${scratch[@]}" "${flags[@]}" >&2
fi
export TASKREAPER_BENCH_HELD_DIRS=1
export HELD_DIRS_PROCESSES=${PROCESSES:-200} HELD_DIRS_FDS=${FDS:-20} HELD_DIRS_ROUNDS=${ROUNDS:-20}
echo "held-dirs: $(nproc) cores, $(uname -r), euid $(id -u), $config build" >&2
swift test --skip-build "${scratch[@]}" "${flags[@]}" --filter HeldDirectoriesBenchmark 2>&1 \
  | grep -E '^held-dirs:|error|failed' || { echo "held-dirs: the benchmark did not run" >&2; exit 1; }
