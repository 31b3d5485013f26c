#!/usr/bin/env bash
# Makes sure a systemd-journald is running and answering, on a machine where systemd is
# not PID 1 (CI containers, this dev machine). Idempotent. Proves it works by logging a
# probe with systemd-cat and reading it back with journalctl.
set -euo pipefail
socket=/run/systemd/journal/socket
probe() {
  local nonce="probe-$$-$RANDOM$RANDOM"
  echo "$nonce" | systemd-cat -t taskreaper-probe 2>/dev/null || return 1
  for _ in $(seq 1 50); do
    journalctl -t taskreaper-probe -o cat --no-pager 2>/dev/null | grep -qx "$nonce" && return 0
    sleep 0.1
  done
  return 1
}
if [ -S "$socket" ] && probe; then exit 0; fi
mkdir -p /run/systemd/journal /run/log/journal
# Not answering: start one (a second instance would fail to bind and exit, harmlessly).
setsid /lib/systemd/systemd-journald >/tmp/systemd-journald.log 2>&1 < /dev/null &
for _ in $(seq 1 100); do
  [ -S "$socket" ] && break
  sleep 0.1
done
if [ -S "$socket" ] && probe; then
  echo "start-journald: journald is running ($socket)" >&2
  exit 0
fi
echo "start-journald: journald did not come up; see /tmp/systemd-journald.log" >&2
exit 1
