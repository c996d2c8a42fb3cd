#!/usr/bin/env bash
# rsock-proxy -c FILE and SIGHUP (rsock-proxy.conf(5), RELOAD): a changed
# file takes effect for new connections at once (each listener's new
# backend, on the same port, with two listeners both said 127.0.0.1:0:
# each is matched by its name); a connection open across the reload goes on
# echoing to its old backend to its end; a bad or missing file is refused
# with its errors logged (FILE:LINE) and the old config keeps serving; a
# reload is said done ("reloaded") only once every thread serves the new
# config (with the other threads frozen, not before).
source "$(dirname "$0")/lib/proxy.sh"
need socat

# backend NAME BYTES: sends each client BYTES bytes and closes; sets BACKEND.
backend() {
  start "$1" "$PEER" oneshot 0 "$2"
  BACKEND=127.0.0.1:$(wait_for "$WORK/$1.log" '^listening ' | cut -d' ' -f2)
}
# listener_of REMOTE: the address of the listener whose pool is REMOTE.
listener_of() {
  wait_for "$WORK/proxy.log" "relaying [^ ]+ -> $1 \\(" | sed -E 's/.*relaying ([^ ]+) .*/\1/'
}
got() { timeout 10 socat -u "TCP:$1" - 2>/dev/null | wc -c; }
# wait_count REGEX N: until proxy.log has N lines matching REGEX (10 s).
wait_count() {
  local until=$((SECONDS + 10))
  while [ "$(grep -Ec -- "$1" "$WORK/proxy.log")" -lt "$2" ]; do
    [ $SECONDS -lt "$until" ] || fail "proxy.log: fewer than $2 lines match /$1/ within 10 s"
    sleep 0.05
  done
}
# echo_line TEXT: TEXT through the connection held open, and back.
echo_line() {
  local reply
  printf '%s\n' "$1" >&"$held_w"
  read -t 10 -r reply <&"$held_r" || fail "the held connection: no echo of $1"
  [ "$reply" = "$1" ] || fail "the held connection echoed \"$reply\", want \"$1\""
}

backend three 3; three=$BACKEND
backend five 5; five=$BACKEND
start_echo 127.0.0.1:0
conf=$WORK/proxy.conf
printf 'listen web 127.0.0.1:0\n  server %s\nlisten stream 127.0.0.1:0\n  server %s\n' \
  "$three" "$ECHO_ADDR" >"$conf"
start proxy "$PROXY" -c "$conf"
PROXY_PID=$LAST_PID
web=$(listener_of "$three")
stream=$(listener_of "$ECHO_ADDR")
[ "$(got "$web")" = 3 ] || fail "before the reload: web is not backend three"
coproc HELD { exec socat - "TCP:$stream"; }
held_pid=$HELD_PID  # (bash forgets HELD and HELD_PID when socat ends)
PIDS+=("$held_pid")
exec {held_r}<&"${HELD[0]}"- {held_w}>&"${HELD[1]}"-
echo_line "before the reload"

# Both listeners get new backends: web five, stream three.
printf 'listen web 127.0.0.1:0\n  server %s\nlisten stream 127.0.0.1:0\n  server %s\n' \
  "$five" "$three" >"$conf"
kill -HUP "$PROXY_PID"
wait_count 'reloaded' 1
[ "$(got "$web")" = 5 ] || fail "after the reload: web ($web) is not backend five"
[ "$(got "$stream")" = 3 ] || fail "after the reload: a new connection to stream is not backend three"
echo_line "after the reload"
pass "SIGHUP with a changed file: new connections go to each listener's new backend at once, on the same ports; the connection open across it still echoes through its old backend"

# A bad file: refused, every error logged with FILE:LINE, the old config serves.
printf 'nosuch 1\nlisten web 127.0.0.1:0\n  server %s\n  threads 2\nlisten web 127.0.0.1:0\n' \
  "$three" >"$conf"
kill -HUP "$PROXY_PID"
wait_count 'reload refused' 1
for want in "$conf:1: no option named \"nosuch\"" "$conf:4: threads is a global option" \
            "$conf:5: listener web is already defined at line 2"; do
  grep -qF -- "$want" "$WORK/proxy.log" || fail "the bad file's error is not logged: $want"
done
alive "$PROXY_PID" || fail "the proxy died on a bad file"
[ "$(got "$web")" = 5 ] || fail "after a refused reload: web is not still backend five"
[ "$(got "$stream")" = 3 ] || fail "after a refused reload: stream is not still backend three"
echo_line "after a refused reload"

# A file that is gone: refused too, with the reason.
rm "$conf"
kill -HUP "$PROXY_PID"
wait_count 'reload refused' 2
grep -qF "$conf: cannot read: No such file or directory" "$WORK/proxy.log" || fail "the missing file is not said"
[ "$(got "$web")" = 5 ] || fail "after a missing file: web is not still backend five"
echo_line "after a missing file"
pass "SIGHUP with a bad file (3 errors, each logged as FILE:LINE) or a missing one: refused, the old config serves, the open connection still echoes"

# The held connection ends cleanly when its client ends.
exec {held_w}>&-
timeout 10 cat <&"$held_r" >/dev/null || fail "the held connection did not end"
wait "$held_pid" || fail "socat on the held connection: exit $?"
alive "$PROXY_PID" || fail "the proxy died"
pass "the connection held across three reloads ends cleanly with its client"

# Three generations later the proxy still stops cleanly (under ASan: no
# leak, no error report).
kill -TERM "$PROXY_PID"
rc=0; wait "$PROXY_PID" || rc=$?
[ "$rc" = 0 ] || fail "the proxy exited $rc after SIGTERM"
! grep -Eq 'Sanitizer|runtime error' "$WORK/proxy.log" || fail "a sanitizer report in proxy.log"
pass "after three reloads SIGTERM stops the proxy with exit 0"

# With --log-format json, a refused reload's errors are log lines too:
# every line stays a JSON object.
printf 'listen web 127.0.0.1:0\n  server %s\n' "$three" >"$conf"
start proxy "$PROXY" --log-format json -c "$conf"
PROXY_PID=$LAST_PID
wait_for "$WORK/proxy.log" '"relaying ' >/dev/null
printf 'nosuch 1\nlisten web 127.0.0.1:0\n  server %s\n' "$three" >"$conf"
kill -HUP "$PROXY_PID"
wait_count 'reload refused' 1
grep -qF "{\"time\":" "$WORK/proxy.log" || fail "no JSON line"
grep -F '"event":"reload"' "$WORK/proxy.log" | grep -qF "$conf:1: no option named \\\"nosuch\\\"" ||
  fail "the bad file's error is not a JSON reload line: $(cat "$WORK/proxy.log")"
grep -v '^{.*}$' "$WORK/proxy.log" && fail "a line that is not a JSON object (above)"
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "--log-format json: a refused reload's errors are JSON lines (event reload) like the rest"

# "reloaded" only once every thread took the new config: with every thread
# but the first frozen (fault_peer freeze: ptrace stops a thread, not its
# process), a SIGHUP logs no "reloaded"; once they go on it does, and every
# new connection then reaches the new backend, whichever thread accepts it.
printf 'listen web 127.0.0.1:0\n  server %s\n' "$three" >"$conf"
start threads "$PROXY" --threads 3 -c "$conf"
PROXY_PID=$LAST_PID
tweb=$(wait_for "$WORK/threads.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
[ "$(got "$tweb")" = 3 ] || fail "--threads 3: web is not backend three"
others=$(ls "/proc/$PROXY_PID/task" | grep -vx "$PROXY_PID" | xargs)
start freeze "$PEER" freeze 30 $others
FREEZE_PID=$LAST_PID
until=$((SECONDS + 10))
while ! grep -q '^frozen ' "$WORK/freeze.log" && alive "$FREEZE_PID"; do
  [ $SECONDS -lt $until ] || fail "fault_peer freeze $others: not frozen in 10 s"
  sleep 0.05
done
if grep -q '^frozen ' "$WORK/freeze.log"; then
  printf 'listen web 127.0.0.1:0\n  server %s\n' "$five" >"$conf"
  kill -HUP "$PROXY_PID"
  sleep 1
  ! grep -q 'reloaded' "$WORK/threads.log" ||
    fail "\"reloaded\" said while threads $others had not taken the new config: $(grep reloaded "$WORK/threads.log")"
  kill -USR1 "$FREEZE_PID"
  wait "$FREEZE_PID" || fail "fault_peer freeze: exit $?"
  wait_for "$WORK/threads.log" 'reloaded: 1 listener$' 10 >/dev/null
  for i in $(seq 30); do
    [ "$(got "$tweb")" = 5 ] || fail "connection $i after \"reloaded\" did not reach backend five"
  done
  kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
  pass "--threads 3, the other threads frozen: no \"reloaded\" until they go on and take the config; then 30 new connections all reach the new backend"
else
  echo "note: fault_peer freeze cannot stop a thread here (ptrace: $(cat "$WORK/freeze.log")): the wait for every thread is not checked"
  kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
fi
