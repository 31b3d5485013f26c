#!/usr/bin/env bash
# Builds the release binary (what `make` runs): .build/release/taskreaper, with the Swift
# runtime linked in statically (--static-swift-stdlib), so it runs on a machine without
# /opt/swift (only libc, libsystemd and libsqlite3 from Debian). Installing is a separate
# step (scripts/install.sh, `make install`), which never builds.
#
# Run as root in a tree owned by someone else (`sudo make`), the build runs as the tree's
# owner: no root-owned .build is ever left in a user's checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
owner=$(stat -c %u .)
if [ "$(id -u)" -eq 0 ] && [ "$owner" -ne 0 ]; then
  home=$(getent passwd "$owner" | cut -d: -f6)
  echo "build: running the build as the tree's owner (uid $owner), not root" >&2
  exec setpriv --reuid="$owner" --regid="$(stat -c %g .)" --init-groups \
    env HOME="${home:-/nonexistent}" PATH="$PATH" "$(pwd)/scripts/build.sh" "$@"
fi
if [ "${SKIP_DEPS:-}" != 1 ] && [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; fi
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --static-swift-stdlib --product taskreaper "$@" >&2
echo "build: .build/release/taskreaper (install with: sudo make install, or scripts/install.sh --user)" >&2
