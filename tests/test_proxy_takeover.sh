#!/usr/bin/env bash
# rsock-proxy --takeover PATH (rsock-proxy(1), TAKEOVER): a new proxy takes
# the running one's listening sockets through its control socket.  Clients
# hammering new connections across the swap see no failure; a connection
# open in the old proxy goes on echoing there, and the old proxy exits once
# it has ended; the new one answers on the same control path.  A takeover
# that is not completed (the new side goes away) leaves the old one
# serving; --takeover at a path nobody answers on is refused.
source "$(dirname "$0")/lib/proxy.sh"
need socat jq

CTL=$WORK/ctl.sock
ask() { printf '%s\n' "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$CTL"; }
echo_once() { printf '%s\n' "$2" | timeout 10 socat -t 5 - "TCP:$1" 2>/dev/null; }
wait_gone() {
  local until=$((SECONDS + ${2:-10}))
  while alive "$1"; do
    [ $SECONDS -lt "$until" ] || fail "process $1 still runs after ${2:-10} s"
    sleep 0.05
  done
}

start_echo 127.0.0.1:0
start proxy "$PROXY" --threads 3 --busy-poll 0 --control "$CTL" 127.0.0.1:0 "$ECHO_ADDR"
OLD_PID=$LAST_PID
P=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
[ "$(echo_once "$P" hello)" = hello ] || fail "no echo through the proxy"

# A takeover the new side does not complete: the old proxy keeps serving.
printf 'takeover\n' | timeout 10 socat -t 1 - "UNIX-CONNECT:$CTL" >/dev/null 2>&1 || true
wait_for "$WORK/proxy.log" 'takeover abandoned' 30 >/dev/null
[ "$(echo_once "$P" still)" = still ] || fail "after an abandoned takeover: no echo"
alive "$OLD_PID" || fail "the proxy exited after an abandoned takeover"
out=$("$PROXY" --takeover "$WORK/nobody.sock" 127.0.0.1:0 "$ECHO_ADDR" 2>&1) &&
  fail "--takeover at a path nobody answers on started"
[[ "$out" == *"--takeover $WORK/nobody.sock"* ]] || fail "--takeover at a dead path says: $out"
pass "an abandoned takeover leaves the old proxy serving; --takeover at a dead path is refused"

# A connection held open in the old proxy across the takeover.
coproc HELD { exec socat - "TCP:$P"; }
held_pid=$HELD_PID
PIDS+=("$held_pid")
exec {held_r}<&"${HELD[0]}"- {held_w}>&"${HELD[1]}"-
echo_held() {
  local reply
  printf '%s\n' "$1" >&"$held_w"
  read -t 10 -r reply <&"$held_r" || fail "the held connection: no echo of $1"
  [ "$reply" = "$1" ] || fail "the held connection echoed \"$reply\", want \"$1\""
}
echo_held "before the takeover"

# Four clients hammer new connections (each checks its echo) until told to
# stop; bounded by count and time.
hammer() {
  local i=0 until=$((SECONDS + 120))
  while [ ! -e "$WORK/stop" ] && [ $i -lt 3000 ] && [ $SECONDS -lt $until ]; do
    i=$((i + 1))
    if [ "$(echo_once "$P" "h$1-$i")" = "h$1-$i" ]; then echo ok; else echo "FAILED h$1-$i"; fi
  done >"$WORK/hammer$1.out"
}
for h in 1 2 3 4; do hammer $h & PIDS+=($!); HAMMERS+=($!); done
count_ok() { cat "$WORK"/hammer*.out 2>/dev/null | grep -c '^ok' || true; }
failures() { grep -h FAILED "$WORK"/hammer*.out 2>/dev/null | head -3 || true; }
until=$((SECONDS + 30))
while [ "$(count_ok)" -lt 20 ]; do [ $SECONDS -lt $until ] || fail "the hammer does not run"; sleep 0.05; done

start new "$PROXY" --threads 2 --busy-poll 0 --takeover "$CTL" --control "$CTL" 127.0.0.1:0 "$ECHO_ADDR"
NEW_PID=$LAST_PID
wait_for "$WORK/new.log" 'took over the listening sockets' 30 >/dev/null
wait_for "$WORK/proxy.log" 'taken over: no new connections here' 30 >/dev/null
before=$(count_ok)
until=$((SECONDS + 60))
while [ "$(count_ok)" -lt $((before + 100)) ]; do
  [ $SECONDS -lt $until ] || fail "the hammer made fewer than 100 connections in 60 s after the takeover; failures: $(failures)"
  sleep 0.05
done
touch "$WORK/stop"
for pid in "${HAMMERS[@]}"; do wait "$pid"; done
failed=$(cat "$WORK"/hammer*.out | grep -c FAILED || true)
total=$(cat "$WORK"/hammer*.out | wc -l)
[ "$failed" = 0 ] || fail "$failed of $total hammered connections failed: $(grep -h FAILED "$WORK"/hammer*.out | head -3)"
pass "$total connections hammered across the takeover, none failed"

echo_held "after the takeover"
alive "$OLD_PID" || fail "the old proxy exited while a connection was open in it"
served=$(ask stats | jq .connections)
[ "$served" -ge 100 ] || fail "the new proxy's control socket says $served connections"
exec {held_w}>&-
timeout 10 cat <&"$held_r" >/dev/null || fail "the held connection did not end"
wait_gone "$OLD_PID"
wait "$OLD_PID" || fail "the old proxy exited with status $?"
[ -S "$CTL" ] || fail "the old proxy removed the new one's control socket"
[ "$(echo_once "$P" last)" = last ] || fail "the new proxy does not serve after the old one exited"
[ "$(ask stats | jq .active)" = 0 ] || true
pass "the held connection echoes in the old proxy, which exits 0 once it ends; the new one serves ($served connections) and answers on the control path"

kill -TERM "$NEW_PID"
wait_gone "$NEW_PID"
wait "$NEW_PID" || fail "the new proxy exited with status $?"
[ ! -e "$CTL" ] || fail "the new proxy left its control socket"
pass "the new proxy stops on SIGTERM and removes the control socket"
