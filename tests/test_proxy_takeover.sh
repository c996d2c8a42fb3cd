#!/usr/bin/env bash
# rsock-proxy --takeover PATH (rsock-proxy(1), TAKEOVER): a new proxy takes
# the running one's listening sockets and then its open connections, live,
# through its control socket.  During a 1 GiB checksummed transfer (echoed
# back and checked by rsock-push) with 50 idle keep-alive connections open
# and four clients hammering new connections: the transfer completes with
# the right bytes, the idle connections still echo, no hammered connection
# fails, the old process exits (with bytes of the transfer counted: it was
# moved mid-stream) while the connections live on in the new one.  A
# takeover the new side does not complete leaves the old one serving;
# --takeover at a path nobody answers on is refused; a Unix LOCAL passes
# with its file.
source "$(dirname "$0")/lib/proxy.sh"
need socat jq ss

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

# 50 idle keep-alive connections (bash's /dev/tcp: a descriptor each).
IDLE=()
for i in $(seq 1 50); do
  exec {fd}<>"/dev/tcp/${P%:*}/${P##*:}"
  IDLE+=("$fd")
done
idle_echo() {
  local i=0 reply fd
  for fd in "${IDLE[@]}"; do
    i=$((i + 1))
    printf '%s %d\n' "$1" $i >&"$fd"
    read -t 10 -r reply <&"$fd" || fail "idle connection $i: no echo ($1)"
    [ "$reply" = "$1 $i" ] || fail "idle connection $i echoed \"$reply\", want \"$1 $i\""
  done
}
idle_echo before
# without_idle CMD...: CMD without our copies of the idle connections (a
# process holding one would keep it open after we close it).
without_idle() { exec bash -c 'for fd in '"${IDLE[*]}"'; do eval "exec $fd>&-"; done; exec "$@"' _ "$@"; }

# Four clients hammer new connections (each checks its echo) until told to
# stop; bounded by count and time.
hammer() {
  local i=0 until=$((SECONDS + 120))
  while [ ! -e "$WORK/stop" ] && [ $i -lt 3000 ] && [ $SECONDS -lt $until ]; do
    i=$((i + 1))
    if [ "$(echo_once "$P" "h$1-$i")" = "h$1-$i" ]; then echo ok; else echo "FAILED h$1-$i"; fi
  done >"$WORK/hammer$1.out"
}
HAMMERS=()
for h in 1 2 3 4; do hammer $h & PIDS+=($!); HAMMERS+=($!); done
count_ok() { cat "$WORK"/hammer*.out 2>/dev/null | grep -c '^ok' || true; }
failures() { grep -h FAILED "$WORK"/hammer*.out 2>/dev/null | head -3 || true; }
until=$((SECONDS + 30))
while [ "$(count_ok)" -lt 20 ]; do [ $SECONDS -lt $until ] || fail "the hammer does not run"; sleep 0.05; done

# The transfer, and the takeover right after it starts.
start push without_idle "$PUSH" -n 1G -t 80 "$P"
PUSH_PID=$LAST_PID
# acked: the bytes the old proxy's socket has taken from rsock-push so far.
acked() {
  ss -Htinp state established 2>/dev/null | grep -A1 "pid=$PUSH_PID," |
    sed -nE 's/.*bytes_acked:([0-9]+).*/\1/p' | head -1
}
until=$((SECONDS + 20))  # the transfer runs through the old proxy (4 MiB in)
while [ "$(acked)" -lt 4194304 ] 2>/dev/null || [ -z "$(acked)" ]; do
  [ $SECONDS -lt $until ] || fail "rsock-push did not send 4 MiB in 20 s: $(cat "$WORK/push.log")"
  alive "$PUSH_PID" || fail "rsock-push ended before the takeover: $(cat "$WORK/push.log")"
  sleep 0.02
done
start new without_idle "$PROXY" --threads 2 --busy-poll 0 --takeover "$CTL" --control "$CTL" 127.0.0.1:0 "$ECHO_ADDR"
NEW_PID=$LAST_PID
took=$(wait_for "$WORK/new.log" 'took over [0-9]+ open connection' 60 | sed -E 's/.*took over ([0-9]+) .*/\1/')
[ "$took" -ge 51 ] || fail "the new proxy took over $took connections, want the 50 idle ones and the transfer"
wait_gone "$OLD_PID" 30
wait "$OLD_PID" || fail "the old proxy exited with status $?"
old_up=$(sed -nE 's/.*exit: .*bytes_up=([0-9]+).*/\1/p' "$WORK/proxy.log")
[ "$old_up" -gt 65536 ] && [ "$old_up" -lt 1073741824 ] ||
  fail "the old proxy relayed $old_up bytes up: the transfer was not moved mid-stream"
pass "the old proxy handed $took open connections over mid-transfer (it had relayed $old_up bytes up) and exited 0"

until=$((SECONDS + 80))
while alive "$PUSH_PID"; do [ $SECONDS -lt $until ] || fail "the transfer did not end in 80 s"; sleep 0.1; done
wait "$PUSH_PID" || fail "the 1 GiB transfer failed: $(cat "$WORK/push.log")"
grep -q 'checksum ok' "$WORK/push.log" || fail "rsock-push: $(cat "$WORK/push.log")"
pass "the 1 GiB transfer moved across the takeover completes: $(cat "$WORK/push.log")"

idle_echo after
pass "the 50 idle connections still echo after the takeover"

before=$(count_ok)
until=$((SECONDS + 60))
while [ "$(count_ok)" -lt $((before + 20)) ]; do
  [ $SECONDS -lt $until ] || fail "the hammer made fewer than 20 connections in 60 s after the takeover; failures: $(failures)"
  sleep 0.05
done
touch "$WORK/stop"
for pid in "${HAMMERS[@]}"; do wait "$pid"; done
failed=$(cat "$WORK"/hammer*.out | grep -c FAILED || true)
total=$(cat "$WORK"/hammer*.out | wc -l)
[ "$failed" = 0 ] || fail "$failed of $total hammered connections failed: $(failures)"
pass "$total connections hammered across the takeover, none failed"

active=$(ask stats | jq .active)
[ "$active" -ge 50 ] || fail "the new proxy's control socket says $active active connections, want the 50 idle ones"
for fd in "${IDLE[@]}"; do exec {fd}>&-; done
until=$((SECONDS + 10))
while [ "$(ask stats | jq .active)" != 0 ]; do
  [ $SECONDS -lt $until ] || fail "the idle connections did not end in the new proxy"
  sleep 0.05
done
kill -TERM "$NEW_PID"
wait_gone "$NEW_PID"
wait "$NEW_PID" || fail "the new proxy exited with status $?"
[ ! -e "$CTL" ] || fail "the new proxy left its control socket"
pass "the new proxy served them ($active active), stops on SIGTERM and removes the control socket"

# A Unix LOCAL: its file passes to the new proxy (the old one does not
# remove it at exit; the new one does).
UCTL=$WORK/uctl.sock SOCK=$WORK/local.sock
start uold "$PROXY" --control "$UCTL" "$SOCK" "$ECHO_ADDR"
UOLD=$LAST_PID
wait_for "$WORK/uold.log" 'relaying ' >/dev/null
[ "$(printf 'u1\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")" = u1 ] || fail "no echo through the Unix LOCAL"
start unew "$PROXY" --takeover "$UCTL" --control "$UCTL" "$SOCK" "$ECHO_ADDR"
UNEW=$LAST_PID
wait_for "$WORK/unew.log" 'took over [0-9]+ open connection' 30 >/dev/null
wait_gone "$UOLD"
[ -S "$SOCK" ] || fail "the old proxy removed the Unix LOCAL it handed over"
[ "$(printf 'u2\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")" = u2 ] || fail "the new proxy does not serve the Unix LOCAL"
kill -TERM "$UNEW"
wait_gone "$UNEW"
[ ! -e "$SOCK" ] || fail "the new proxy left the Unix LOCAL's file at exit"
pass "a Unix LOCAL's socket and file pass to the new proxy, which removes the file at exit"
