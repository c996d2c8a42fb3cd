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

# Limits across a takeover: a connection taken over counts in the new
# proxy's limits as one it accepted, until it closes.  --max-per-client 2
# and a --buffer-budget of 2 relaying connections (1.75 MiB for the thread,
# 2 MiB each), two connections from 127.0.0.1 taken over: a third from
# 127.0.0.1 is refused, one from 127.0.0.2 waits for the budget until one
# of the two closes; once it closed too, 127.0.0.1 is served again.
LCTL=$WORK/lctl.sock
limits=(--threads 1 --busy-poll 0 --max-per-client 2 --buffer-budget $((7 * 1048576 / 4 + 4 * 1048576)))
# without_fds "FD..." CMD...: CMD without our copies of those descriptors
# (a process holding one would keep its connection open after we close it);
# in a subshell only (it execs).
without_fds() { local fds=$1; shift; exec bash -c 'for fd in '"$fds"'; do eval "exec $fd>&-"; done; exec "$@"' _ "$@"; }
start lold "$PROXY" "${limits[@]}" --control "$LCTL" 127.0.0.1:0 "$ECHO_ADDR"
LOLD=$LAST_PID
LP=$(wait_for "$WORK/lold.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
wait_for "$WORK/lold.log" 'buffer budget [0-9]+ bytes: 2 connections relay at once' >/dev/null
HELD=()
for i in 1 2; do exec {fd}<>"/dev/tcp/127.0.0.1/${LP##*:}"; HELD+=("$fd"); done
held_echo() {
  local reply fd
  for fd in "$@"; do
    printf 'held %s\n' "$fd" >&"$fd"
    read -t 10 -r reply <&"$fd" || fail "held connection $fd: no echo"
    [ "$reply" = "held $fd" ] || fail "held connection $fd echoed \"$reply\""
  done
}
held_echo "${HELD[@]}"
start lnew without_fds "${HELD[*]}" "$PROXY" "${limits[@]}" --takeover "$LCTL" --control "$LCTL" 127.0.0.1:0 "$ECHO_ADDR"
LNEW=$LAST_PID
wait_for "$WORK/lnew.log" 'took over 2 open connections' 30 >/dev/null
wait_gone "$LOLD" 30
held_echo "${HELD[@]}"
third=$(printf 'third\n' | without_fds "${HELD[*]}" timeout 5 socat -t 3 - "TCP:$LP" 2>/dev/null || true)
[ -z "$third" ] || fail "a third connection from 127.0.0.1 was served beside the 2 taken over: \"$third\""
wait_for "$WORK/lnew.log" '127\.0\.0\.1:[0-9]+: refused: over --max-per-client' >/dev/null
coproc WAITING { for fd in ${HELD[*]}; do eval "exec $fd>&-"; done; exec socat - "TCP:$LP,bind=127.0.0.2"; }
waiting_pid=$WAITING_PID
PIDS+=("$waiting_pid")
exec {waiting_r}<&"${WAITING[0]}"- {waiting_w}>&"${WAITING[1]}"-
printf 'waits\n' >&"$waiting_w"
reply=
read -t 1 -r reply <&"$waiting_r" || true
[ -z "$reply" ] || fail "127.0.0.2 relayed (\"$reply\") while the 2 taken over hold the whole budget"
wait_for "$WORK/lnew.log" 'buffer budget full \(2 connections relaying\): new connections wait' >/dev/null
exec {HELD[0]}>&-
read -t 10 -r reply <&"$waiting_r" || fail "127.0.0.2 got nothing after a taken-over connection closed"
[ "$reply" = waits ] || fail "127.0.0.2 echoed \"$reply\""
exec {waiting_w}>&-
timeout 10 cat <&"$waiting_r" >/dev/null || true
wait "$waiting_pid" 2>/dev/null || true
again=$(printf 'again\n' | without_fds "${HELD[*]:1}" timeout 5 socat -t 3 - "TCP:$LP" 2>/dev/null || true)
[ "$again" = again ] || fail "127.0.0.1 not served after one of its 2 taken-over connections closed: \"$again\""
held_echo "${HELD[1]}"
exec {HELD[1]}>&-
kill -TERM "$LNEW"
wait_gone "$LNEW"
pass "2 connections taken over count in the new proxy's --max-per-client 2 and --buffer-budget (2 relaying): a third from 127.0.0.1 refused, 127.0.0.2 waited until one closed; then 127.0.0.1 served again"

# With --accept-proxy the client counted is the PROXY header's, in the new
# proxy too: one connection from 10.9.9.9 (a header) taken over under
# --max-per-client 1, a second from 10.9.9.9 is refused, 10.9.9.8 served.
PCTL=$WORK/pctl.sock
pp=(--threads 1 --busy-poll 0 --accept-proxy --max-per-client 1)
header() { printf 'PROXY TCP4 %s 127.0.0.1 4000 80\r\n' "$1"; }
start pold "$PROXY" "${pp[@]}" --control "$PCTL" 127.0.0.1:0 "$ECHO_ADDR"
POLD=$LAST_PID
PP=$(wait_for "$WORK/pold.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
exec {pheld}<>"/dev/tcp/127.0.0.1/${PP##*:}"
{ header 10.9.9.9; printf 'from nine\n'; } >&"$pheld"
read -t 10 -r reply <&"$pheld" || fail "10.9.9.9: no echo"
[ "$reply" = "from nine" ] || fail "10.9.9.9 echoed \"$reply\""
start pnew without_fds "$pheld" "$PROXY" "${pp[@]}" --takeover "$PCTL" --control "$PCTL" 127.0.0.1:0 "$ECHO_ADDR"
PNEW=$LAST_PID
wait_for "$WORK/pnew.log" 'took over 1 open connection' 30 >/dev/null
wait_gone "$POLD" 30
through() { { header "$1"; printf 'hi %s\n' "$1"; } | without_fds "$pheld" timeout 5 socat -t 3 - "TCP:$PP" 2>/dev/null || true; }
[ -z "$(through 10.9.9.9)" ] || fail "a second 10.9.9.9 was served beside the one taken over (counted as 127.0.0.1?)"
wait_for "$WORK/pnew.log" '10\.9\.9\.9:4000: refused: over --max-per-client' >/dev/null
[ "$(through 10.9.9.8)" = "hi 10.9.9.8" ] || fail "10.9.9.8 not served"
exec {pheld}>&-
kill -TERM "$PNEW"
wait_gone "$PNEW"
pass "--accept-proxy: the connection taken over counts as its PROXY header's client (a second 10.9.9.9 refused, 10.9.9.8 served)"
