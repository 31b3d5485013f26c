#!/usr/bin/env bash
# Installs the Debian packages taskreaper builds and tests with (idempotent: apt runs only
# when something is missing). Swift itself is expected at /opt/swift (see README).
set -euo pipefail
# systemd: journald, journalctl, systemd-cat, systemd-tmpfiles (tests, benchmark);
# e2fsprogs: chattr (tests of failing unlinks); util-linux: flock, setpriv, unshare (lock,
# installer and read-only-root tests); man-db: man (the installed page is rendered in a test);
# python3-prometheus-client: the real Prometheus text parser the metrics tests check our output with.
packages=(libsystemd-dev pkg-config libsqlite3-dev sqlite3 systemd e2fsprogs util-linux python3 hyperfine inotify-tools man-db python3-prometheus-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
  echo "install-deps: Swift 6 not found (expected on PATH or at /opt/swift/usr/bin)" >&2
  exit 1
fi
