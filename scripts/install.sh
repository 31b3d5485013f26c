#!/usr/bin/env bash
# Installs taskreaper: the binary, its README, the journal catalog and the systemd units.
#   scripts/install.sh --user            # units for `systemctl --user` (this user)
#   scripts/install.sh --system          # template units for the system manager (root)
#   PREFIX=/usr/local (default) decides where the binary goes; units are rewritten to match.
# Then enable one mode (README "Installing"): the watch daemon (socket-activated or not),
# or the sweep timer, or a crontab line.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in --user|--system) ;; *) echo "usage: scripts/install.sh --user|--system" >&2; exit 2 ;; esac
PREFIX=${PREFIX:-/usr/local}
scripts/install-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release >&2
install -D -m 0755 .build/release/taskreaper "$PREFIX/bin/taskreaper"
install -D -m 0644 README.md "$PREFIX/share/doc/taskreaper/README.md"
if [ "$(id -u)" -eq 0 ]; then
  install -D -m 0644 units/taskreaper.catalog "$PREFIX/lib/systemd/catalog/taskreaper.catalog"
  journalctl --update-catalog || true
fi
if [ "$mode" = --user ]; then
  dest=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
  src=units/user
  reload=(systemctl --user daemon-reload)
else
  dest=/etc/systemd/system
  src=units/system
  reload=(systemctl daemon-reload)
fi
mkdir -p "$dest"
for unit in "$src"/*; do
  sed "s|/usr/local/bin/taskreaper|$PREFIX/bin/taskreaper|g" "$unit" > "$dest/$(basename "$unit")"
  chmod 0644 "$dest/$(basename "$unit")"
done
"${reload[@]}" 2>/dev/null || echo "install: could not run ${reload[*]} (no systemd manager here?); run it yourself" >&2
echo "installed $PREFIX/bin/taskreaper and $(ls "$src" | wc -l) units in $dest" >&2
