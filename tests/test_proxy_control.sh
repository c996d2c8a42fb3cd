#!/usr/bin/env bash
# rsock-proxy --control PATH (rsock-proxy(1), CONTROL SOCKET): a Unix
# socket of mode 0600 answering one line per command: stats and backends as
# JSON, reload (a changed -c file: ok; a bad one: an error, the old config
# serves), drain (new connections refused, an open one keeps echoing, the
# process exits once it closes and removes the socket); an unknown command
# and an over-long line are answered with an error; a path held by a file
# or by a live proxy is refused.
source "$(dirname "$0")/lib/proxy.sh"
need socat jq

CTL=$WORK/ctl.sock
# ask COMMAND: the one answer line.
ask() { printf '%s\n' "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$CTL"; }
echo_once() { printf '%s\n' "$2" | timeout 10 socat -t 5 - "TCP:$1"; }

start_echo 127.0.0.1:0
echo_a=$ECHO_ADDR
start echo_b "$ECHO" -q 127.0.0.1:0
echo_b=$(wait_for "$WORK/echo_b.log" '^listening on ' | sed 's/^listening on //')
conf=$WORK/proxy.conf
printf 'listen web 127.0.0.1:0\n  server %s\n' "$echo_a" >"$conf"
start proxy "$PROXY" --control "$CTL" -c "$conf"
PROXY_PID=$LAST_PID
web=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')

[ -S "$CTL" ] || fail "no socket at $CTL"
[ "$(stat -c %a "$CTL")" = 600 ] || fail "$CTL has mode $(stat -c %a "$CTL"), want 600"
pass "the control socket is a socket of mode 0600"

[ "$(echo_once "$web" hello)" = hello ] || fail "no echo through the proxy"
until=$((SECONDS + 10))  # the proxy counts the connection once both its sides closed
while ! ask stats | jq -e '.active == 0' >/dev/null; do
  [ $SECONDS -lt $until ] || fail "stats: still active 10 s after the client ended: $(ask stats)"
  sleep 0.05
done
stats=$(ask stats)
echo "$stats" | jq -e '.connections == 1 and .active == 0 and .bytes_up == 6 and
  .bytes_down == 6 and .errors == 0' >/dev/null || fail "stats: $stats"
pass "stats: $stats"

backends=$(ask backends)
echo "$backends" | jq -e --arg a "$echo_a" --arg l "$web" '.listeners | length == 1 and
  .[0].name == "web" and .[0].local == $l and (.[0].servers | length == 1) and
  .[0].servers[0].address == $a and .[0].servers[0].from == $a and
  .[0].servers[0].up == true and .[0].servers[0].active == 0' >/dev/null ||
  fail "backends: $backends"
pass "backends: $backends"

# Several commands on one connection, one answer line each, in order.
two=$(printf 'stats\nbackends\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$CTL")
[ "$(echo "$two" | wc -l)" = 2 ] && echo "$two" | head -1 | jq -e .connections >/dev/null &&
  echo "$two" | tail -1 | jq -e .listeners >/dev/null || fail "two commands on one connection: $two"
pass "two commands on one connection: two answers in order"

# reload: the changed file takes effect; a bad one is refused.
printf 'listen web 127.0.0.1:0\n  server %s\n' "$echo_b" >"$conf"
[ "$(ask reload)" = ok ] || fail "reload with a changed file did not answer ok"
ask backends | jq -e --arg b "$echo_b" '.listeners[0].servers[0].address == $b' >/dev/null ||
  fail "after reload: backends still $(ask backends)"
[ "$(echo_once "$web" again)" = again ] || fail "no echo after the reload"
printf 'listen web 127.0.0.1:0\n  nosuch 1\n' >"$conf"
answer=$(ask reload)
[[ "$answer" == "error: reload refused"* ]] || fail "a bad file's reload answered: $answer"
ask backends | jq -e --arg b "$echo_b" '.listeners[0].servers[0].address == $b' >/dev/null ||
  fail "after a refused reload: backends $(ask backends)"
pass "reload: a changed file is applied (ok), a bad one refused ($answer)"

# Bad input: an unknown command, an over-long line.
answer=$(ask 'frobnicate now')
[ "$answer" = 'error: unknown command "frobnicate now" (stats, backends, reload, drain, takeover)' ] ||
  fail "an unknown command answered: $answer"
answer=$(head -c 2000 /dev/zero | tr '\0' x | timeout 10 socat -t 5 - "UNIX-CONNECT:$CTL")
[ "$answer" = "error: line too long" ] || fail "an over-long line answered: $answer"
alive "$PROXY_PID" || fail "the proxy died on bad input"
pass "an unknown command and an over-long line: an error answer each"

# The path is taken: by a live proxy, by a regular file.
out=$("$PROXY" --control "$CTL" 127.0.0.1:0 "$echo_a" 2>&1) && fail "a second proxy on a live control socket started"
[[ "$out" == *"another proxy answers there"* ]] || fail "a live control socket's refusal says: $out"
touch "$WORK/file"
out=$("$PROXY" --control "$WORK/file" 127.0.0.1:0 "$echo_a" 2>&1) && fail "--control on a regular file started"
[[ "$out" == *"exists and is not a socket"* ]] || fail "a regular file's refusal says: $out"
[ -f "$WORK/file" ] || fail "the regular file was removed"
pass "a control path held by a live proxy or a regular file is refused"

# drain: new connections refused, the open one echoes, exit after it ends.
coproc HELD { exec socat - "TCP:$web"; }
held_pid=$HELD_PID
PIDS+=("$held_pid")
exec {held_r}<&"${HELD[0]}"- {held_w}>&"${HELD[1]}"-
echo_held() {
  local reply
  printf '%s\n' "$1" >&"$held_w"
  read -t 10 -r reply <&"$held_r" || fail "the held connection: no echo of $1"
  [ "$reply" = "$1" ] || fail "the held connection echoed \"$reply\", want \"$1\""
}
echo_held "before the drain"
[ "$(ask drain)" = ok ] || fail "drain did not answer ok"
until=$((SECONDS + 10))
while echo_once "$web" probe >/dev/null 2>&1; do
  [ $SECONDS -lt $until ] || fail "new connections are still served 10 s after the drain"
  sleep 0.05
done
echo_held "during the drain"
ask stats | jq -e '.active == 1' >/dev/null || fail "during the drain: stats $(ask stats)"
alive "$PROXY_PID" || fail "the proxy exited with a connection open"
exec {held_w}>&-
timeout 10 cat <&"$held_r" >/dev/null || fail "the held connection did not end"
until=$((SECONDS + 10))
while alive "$PROXY_PID"; do
  [ $SECONDS -lt $until ] || fail "the proxy did not exit after the last connection"
  sleep 0.05
done
wait "$PROXY_PID" || fail "the drained proxy exited with status $?"
[ ! -e "$CTL" ] || fail "the control socket was left at $CTL"
grep -q 'exit: connections=' "$WORK/proxy.log" || fail "no exit summary"
pass "drain: new connections refused, the open one echoes, exit 0 once it closed, socket removed"
