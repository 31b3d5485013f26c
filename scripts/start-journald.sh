#!/usr/bin/env bash
# Makes sure a systemd-journald is running and answering, on a machine where systemd is
# not PID 1 (CI containers, dev machines). Idempotent, safe to run concurrently (flock),
# must run as root. Proves journald works by logging a probe with systemd-cat and reading
# it back with journalctl. Exit 0: journald answers; non-zero: it does not, and why.
#
# Storage: journald writes to /run/log/journal (volatile) unless /var/log/journal exists and
# something asks it to flush there (systemd-journal-flush.service, absent here): either way
# plain `journalctl` reads it, no --directory needed.
#
# Environment: START_JOURNALD_TIMEOUT (seconds, default 10), START_JOURNALD_LOG (journald's
# own output, default /tmp/systemd-journald.log).
set -euo pipefail

socket=/run/systemd/journal/socket
journald=/lib/systemd/systemd-journald
timeout_s=${START_JOURNALD_TIMEOUT:-10}
log=${START_JOURNALD_LOG:-/tmp/systemd-journald.log}

die() { echo "start-journald: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (journald binds /run/systemd/journal)"
[ -x "$journald" ] || die "$journald not found (apt-get install systemd)"
command -v systemd-cat >/dev/null || die "systemd-cat not found"
command -v journalctl >/dev/null || die "journalctl not found"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
deadline=$(( $(now_ms) + timeout_s * 1000 ))
before_deadline() { [ "$(now_ms)" -lt "$deadline" ]; }

# One probe: log a unique line and poll until journalctl shows it (MESSAGE= is an indexed
# exact match, so this stays fast however big the journal grows), or the deadline passes.
# Sending is retried too: the socket file can be a stale one left by a journald that died
# with the last session (/run survives here), which refuses connections until the new
# journald has unlinked it and bound its own.
probe() {
  local nonce="taskreaper-probe-$$-$(date +%s%N)-$RANDOM" sent=
  while :; do
    if [ -z "$sent" ] && [ -S "$socket" ] &&
       echo "$nonce" | systemd-cat -t taskreaper-probe 2>/dev/null; then
      sent=yes
    fi
    if [ -n "$sent" ] &&
       journalctl -t taskreaper-probe -o json --no-pager "MESSAGE=$nonce" 2>/dev/null | grep -qF "\"$nonce\""; then
      return 0
    fi
    before_deadline || return 1
    sleep 0.05
  done
}

journald_pids() { pgrep -x systemd-journal || true; }  # comm is cut to 15 characters

# Serialize concurrent runs: two of them must not both start a journald.
exec 9>/run/taskreaper-start-journald.lock
flock -w "$timeout_s" 9 || die "another start-journald.sh holds /run/taskreaper-start-journald.lock"

# Probe only a journald that exists: with none running, the socket file is stale.
running=$(journald_pids)
if [ -n "$running" ] && [ -S "$socket" ] && probe; then exit 0; fi

if [ -z "$running" ]; then
  # Nothing answers: start one. A stale socket file is fine, journald unlinks it and binds.
  mkdir -p /run/systemd/journal /run/log/journal
  # 9>&-: the daemon must not inherit the lock, or it would hold it for its whole life.
  setsid "$journald" >"$log" 2>&1 </dev/null 9>&- &
  started=$!
  echo "start-journald: started $journald (pid $started; output in $log)" >&2
else
  # A journald exists but did not answer (yet): it may still be starting. Starting a
  # second one would have two writers on the same journal files, so wait for this one.
  echo "start-journald: journald already running (pid $running), waiting for it to answer" >&2
  started=
fi

until [ -S "$socket" ]; do
  if [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; then
    die "journald (pid $started) exited; its output: $(tail -n 5 "$log" 2>/dev/null | tr '\n' ' ')"
  fi
  before_deadline || die "no socket at $socket after ${timeout_s}s; see $log"
  sleep 0.05
done

if probe; then
  echo "start-journald: journald is answering ($socket)" >&2
  exit 0
fi
die "journald does not answer: a systemd-cat probe was not readable with journalctl within ${timeout_s}s (journald pids: $(journald_pids | tr '\n' ' '); see $log)"
