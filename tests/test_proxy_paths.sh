#!/usr/bin/env bash
# rsock-proxy and a Unix LOCAL path: it removes only a socket it may own.
# 1. A regular file, a directory or a symlink given as LOCAL survives, and
#    the proxy exits 1 saying what is in the way (issue 10, item 4).
# 2. A stale socket (nobody accepts on it) is replaced.
# 3. At exit the proxy removes its socket only if the path is still the one
#    it bound: a replacement started during the grace period keeps its
#    socket (issue 10, item 5).
source "$(dirname "$0")/lib/proxy.sh"
need socat
start_echo 127.0.0.1:0
checks=0

# in_the_way PATH KIND: the proxy refuses PATH, exit 1, naming KIND.
in_the_way() {
  local path=$1 kind=$2 out rc=0
  out=$(timeout 10 "$PROXY" "$path" "$ECHO_ADDR" 2>&1) || rc=$?
  [ "$rc" = 1 ] || fail "LOCAL $kind: exit $rc, want 1 (output: $out)"
  grep -qF "$path is $kind, not a socket: not removed" <<<"$out" || fail "LOCAL $kind: \"$out\""
  checks=$((checks + 1))
}

echo "precious" >"$WORK/file"
in_the_way "$WORK/file" "a regular file"
[ "$(cat "$WORK/file")" = precious ] || fail "the regular file given as LOCAL was changed or removed"
mkdir "$WORK/dir"
in_the_way "$WORK/dir" "a directory"
[ -d "$WORK/dir" ] || fail "the directory given as LOCAL was removed"
echo "target" >"$WORK/target"
ln -s "$WORK/target" "$WORK/link"
in_the_way "$WORK/link" "a symbolic link"
[ -L "$WORK/link" ] && [ "$(cat "$WORK/target")" = target ] || fail "the symlink or its target was removed"
pass "a regular file, a directory and a symlink as LOCAL: each survives, exit 1 naming it"

# A stale socket: bound, then its owner died without removing it.
start listener socat UNIX-LISTEN:"$WORK/stale.sock" /dev/null
for _ in $(seq 100); do [ -S "$WORK/stale.sock" ] && break; sleep 0.05; done
kill -KILL "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
[ -S "$WORK/stale.sock" ] || fail "could not leave a stale socket behind"
start stalep "$PROXY" "$WORK/stale.sock" "$ECHO_ADDR"
wait_for "$WORK/stalep.log" 'relaying ' >/dev/null
timeout 20 "$PUSH" -n 64K "$WORK/stale.sock" >/dev/null 2>&1 || fail "no service on the replaced stale socket"
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
[ ! -e "$WORK/stale.sock" ] || fail "the proxy left its socket behind at exit"
pass "a stale socket as LOCAL is replaced and served; removed at exit"
checks=$((checks + 1))

# Replacement during the grace period.  A holds a connection open, gets
# SIGTERM (grace 30 s); B binds the path meanwhile; A exits on a second
# SIGTERM: B's socket must stay.
sock=$WORK/p.sock
start a "$PROXY" --grace 30 "$sock" "$ECHO_ADDR"
a_pid=$LAST_PID
wait_for "$WORK/a.log" 'relaying ' >/dev/null
coproc HELD { exec socat - UNIX-CONNECT:"$sock"; }
held_pid=$HELD_PID
echo ping >&"${HELD[1]}"
read -r -t 10 reply <&"${HELD[0]}" || fail "no echo through proxy A"
[ "$reply" = ping ] || fail "proxy A echoed \"$reply\""
kill -TERM "$a_pid"
for _ in $(seq 200); do                  # A closes its listener: connecting is refused
  timeout 2 socat -u /dev/null UNIX-CONNECT:"$sock" 2>/dev/null || break
  sleep 0.05
done
alive "$a_pid" || fail "proxy A did not wait for its open connection"
start b "$PROXY" "$sock" "$ECHO_ADDR"
b_pid=$LAST_PID
wait_for "$WORK/b.log" 'relaying ' >/dev/null
kill -TERM "$a_pid"                      # the second signal: exit at once
wait "$a_pid" 2>/dev/null || true
kill "$held_pid" 2>/dev/null || true
[ -S "$sock" ] || fail "proxy A removed the socket of its replacement B at exit"
timeout 20 "$PUSH" -n 64K "$sock" >"$WORK/bpush.log" 2>&1 || fail "proxy B does not serve: $(cat "$WORK/bpush.log")"
kill "$b_pid"; wait "$b_pid" 2>/dev/null || true
[ ! -e "$sock" ] || fail "proxy B left its own socket behind at exit"
pass "a replacement bound during the grace period keeps its socket; it serves; it removes its own at exit"
checks=$((checks + 1))

echo "$checks passed, 0 failed"
