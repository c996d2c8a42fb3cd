#!/usr/bin/env bash
# rsock-proxy's protective defaults (issue 10, "Defaults that protect"):
# 1. an idle timeout (300 s unless told): a silent connection is closed
#    after --idle-timeout S, both ways; --idle-timeout 0 turns it off;
# 2. TCP keepalive on both sides of every connection (first probe after
#    60 s unless told); --keepalive 0 turns it off.
source "$(dirname "$0")/lib/proxy.sh"
need ss
start_echo 127.0.0.1:0
checks=0

# 1. A client that says nothing: closed after 1 s of silence, not before
#    (with a reset: the proxy cut it, no peer ended its stream).
start_proxy --idle-timeout 1 "$ECHO_ADDR"
grep -q 'idle-timeout 1 s, keepalive 60 s)' "$WORK/proxy.log" || fail "start line: $(cat "$WORK/proxy.log")"
exec 7<>"/dev/tcp/127.0.0.1/$(port_of "$PROXY_ADDR")"
t0=$(date +%s%N)
rc=0; timeout 10 cat <&7 >/dev/null 2>&1 || rc=$?   # the end comes as a reset: rc 1
[ "$rc" != 124 ] || fail "the idle connection was not closed within 10 s"
ms=$((($(date +%s%N) - t0) / 1000000))
exec 7<&- 7>&-
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "--idle-timeout 1 closed a silent connection after $ms ms"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "--idle-timeout 1: a silent client was closed after $ms ms"
checks=$((checks + 1))

start_proxy --idle-timeout 0 "$ECHO_ADDR"
grep -q 'idle-timeout off, ' "$WORK/proxy.log" || fail "start line: $(cat "$WORK/proxy.log")"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
: >"$WORK/proxy.log"
start_proxy "$ECHO_ADDR"
grep -q 'idle-timeout 300 s, ' "$WORK/proxy.log" || fail "start line: $(cat "$WORK/proxy.log")"
pass "the idle timeout is 300 s by default, off with --idle-timeout 0 (start lines)"
checks=$((checks + 1))

# 2. Keepalive: ss shows a keepalive timer on the proxy's two sockets of a
#    connection (client side and REMOTE side), none with --keepalive 0.
#    The REMOTE side's is armed by its worker within half a second of the
#    connect (a shorter connection never pays for it), its first probe
#    still due S seconds after the last packet: wait a second for it.
# timers PID: the timer field of each established socket of process PID.
timers() { ss -tnoHp state established | grep "pid=$1," | grep -oE 'timer:\([a-z]+,[^)]*\)' || true; }
held_connection() {   # open a connection through the proxy and wait until both sides are up
  exec 7<>"/dev/tcp/127.0.0.1/$(port_of "$PROXY_ADDR")"
  echo ping >&7; read -r -t 10 reply <&7 || fail "no echo through the proxy"
  sleep 1
}
held_connection
kept=$(timers "$PROXY_PID")
exec 7<&- 7>&-
[ "$(grep -c '^timer:(keepalive,' <<<"$kept")" = 2 ] || fail "default: proxy sockets' timers: \"$kept\""
for secs in $(grep -oE 'keepalive,[0-9.]+' <<<"$kept" | cut -d, -f2); do
  [ "${secs%.*}" -ge 50 ] && [ "${secs%.*}" -le 60 ] || fail "default keepalive timer $secs s, want about 60"
done
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

# A --sockopt of REMOTE's side for keepalive wins over --keepalive (ours is
# set first, when the socket is made): 30 s there, 60 on the client's side.
: >"$WORK/proxy.log"
start_proxy --sockopt server:TCP_KEEPIDLE=30 "$ECHO_ADDR"
held_connection
told=$(timers "$PROXY_PID")
exec 7<&- 7>&-
[ "$(grep -cE '^timer:\(keepalive,(2[0-9]|30)' <<<"$told")" = 1 ] &&
  [ "$(grep -cE '^timer:\(keepalive,(5[0-9]|60)' <<<"$told")" = 1 ] ||
  fail "--sockopt server:TCP_KEEPIDLE=30: timers \"$told\""
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

: >"$WORK/proxy.log"
start_proxy --keepalive 7 "$ECHO_ADDR"
held_connection
kept7=$(timers "$PROXY_PID")
exec 7<&- 7>&-
[ "$(grep -c '^timer:(keepalive,[0-7]' <<<"$kept7")" = 2 ] || fail "--keepalive 7: timers \"$kept7\""
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

: >"$WORK/proxy.log"
start_proxy --keepalive 0 "$ECHO_ADDR"
grep -q 'keepalive off)' "$WORK/proxy.log" || fail "start line: $(cat "$WORK/proxy.log")"
held_connection
none=$(timers "$PROXY_PID")
exec 7<&- 7>&-
grep -q keepalive <<<"$none" && fail "--keepalive 0: timers \"$none\""
pass "keepalive on both sides: $(tr '\n' ' ' <<<"$kept")(default), $(tr '\n' ' ' <<<"$told")(--sockopt server:TCP_KEEPIDLE=30), $(tr '\n' ' ' <<<"$kept7")(--keepalive 7), none with --keepalive 0"
checks=$((checks + 1))

echo "$checks passed, 0 failed"
