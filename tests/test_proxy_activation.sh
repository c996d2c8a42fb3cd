#!/usr/bin/env bash
# rsock-proxy and systemd (issue 15, item 1), under Debian's
# systemd-socket-activate, which binds the socket, waits for the first
# client and then execs the proxy with it (LISTEN_FDS):
# 1. LOCAL systemd on TCP serves that first client and the next, and with
#    NOTIFY_SOCKET set (a socat datagram receiver) the proxy says READY=1
#    and STATUS=; SIGHUP: RELOADING=1 with MONOTONIC_USEC=, the socket kept
#    (a third client served); then STOPPING=1 on SIGTERM, and exits 0.
# 2. LOCAL fd:3 on a Unix socket passed the same way serves a client, and
#    READY=1 reaches an abstract NOTIFY_SOCKET (@name).
#    LOCAL systemd:NAME takes the socket of that name (LISTEN_FDNAMES).
# 3. LOCAL fd:9 (the socket moved to descriptor 9 by a shell) serves, and
#    with --threads 2 the proxy holds the socket twice (a descriptor per
#    thread): descriptor 9 is closed once adopted.
# 4. Refusals exit 1 naming LOCAL: systemd with nothing passed, or with a
#    LISTEN_FDS that is no number; systemd:NAME when no socket has that
#    name; fd:N not open, not a socket, not listening.
# 5. --threads 2 on LOCAL systemd (TCP): both threads accept clients of the
#    one socket (the control socket's stats count each thread's), again
#    after a reload, and in a new process that took it over (--takeover,
#    the old one exits 0); a drain then closes the socket (the proxy held
#    it alone: a new client is refused, not queued) while an open
#    connection still echoes, and the proxy exits 0 once it ends.
source "$(dirname "$0")/lib/proxy.sh"
need systemd-socket-activate socat jq
start_echo 127.0.0.1:0

# echo_through_tcp PORT WORD: WORD comes back through the proxy on PORT.
echo_through_tcp() {
  local reply
  exec 7<>"/dev/tcp/127.0.0.1/$1" || fail "cannot connect to port $1"
  printf '%s\n' "$2" >&7
  read -r -t 10 reply <&7 || fail "no echo through port $1"
  exec 7>&- 7<&-
  [ "$reply" = "$2" ] || fail "echo through port $1: \"$reply\", want \"$2\""
}

# stop PID NAME: SIGTERM, and the proxy exits 0.
stop() {
  local rc=0
  kill -TERM "$1"
  wait "$1" || rc=$?
  [ "$rc" = 0 ] || fail "$2: exit $rc after SIGTERM, want 0"
}

# until_exists PATH: the socket file appears (bounded).
until_exists() {
  for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
  fail "$1 did not appear"
}

# 1. systemd, TCP, with the notify protocol.
start notify socat -u UNIX-RECV:"$WORK/notify.sock" STDOUT
until_exists "$WORK/notify.sock"
port=$(free_port)
start sd systemd-socket-activate -l "127.0.0.1:$port" -E NOTIFY_SOCKET="$WORK/notify.sock" \
  "$PROXY" systemd "$ECHO_ADDR"
sd_pid=$LAST_PID
wait_for "$WORK/sd.log" "^Listening on 127.0.0.1:$port" >/dev/null
echo_through_tcp "$port" first # this client is what starts the proxy
echo_through_tcp "$port" second
wait_for "$WORK/sd.log" 'relaying ' >/dev/null
wait_for "$WORK/notify.log" 'READY=1' >/dev/null
wait_for "$WORK/notify.log" 'STATUS=' >/dev/null
[ "$(readlink "/proc/$sd_pid/exe")" = "$(readlink -f "$PROXY")" ] ||
  fail "pid $sd_pid is not the proxy (systemd-socket-activate should exec it)"
kill -HUP "$sd_pid" # a reload keeps LOCAL systemd's socket
wait_for "$WORK/notify.log" 'RELOADING=1$' >/dev/null # one datagram, two lines:
wait_for "$WORK/notify.log" '^MONOTONIC_USEC=[0-9]+' >/dev/null
wait_for "$WORK/sd.log" 'reloaded' >/dev/null
echo_through_tcp "$port" third
stop "$sd_pid" "LOCAL systemd"
wait_for "$WORK/notify.log" 'STOPPING=1' >/dev/null
pass "LOCAL systemd under systemd-socket-activate: served clients before and after a reload; READY=1, STATUS=, RELOADING=1 + MONOTONIC_USEC, STOPPING=1 arrived"

# 2. fd:3, a Unix socket; NOTIFY_SOCKET in the abstract namespace.
abstract=rsock-test-notify-$$
start notify2 socat -u ABSTRACT-RECV:"$abstract" STDOUT
for _ in $(seq 200); do grep -q "@$abstract" /proc/net/unix && break; sleep 0.05; done
start sdu systemd-socket-activate -l "$WORK/front.sock" -E NOTIFY_SOCKET="@$abstract" \
  "$PROXY" fd:3 "$ECHO_ADDR"
sdu_pid=$LAST_PID
until_exists "$WORK/front.sock"
reply=$(printf 'unix\n' | timeout 10 socat -t 5 - UNIX-CONNECT:"$WORK/front.sock") ||
  fail "socat through fd:3"
[ "$reply" = unix ] || fail "echo through fd:3: \"$reply\""
wait_for "$WORK/notify2.log" 'READY=1' >/dev/null
stop "$sdu_pid" "LOCAL fd:3"
pass "LOCAL fd:3 (a Unix socket from systemd-socket-activate) served a client; READY=1 to @$abstract"

# 2b. systemd:NAME: two named Unix sockets passed, LOCAL takes the one named.
start sdn systemd-socket-activate -l "$WORK/web.sock" -l "$WORK/api.sock" --fdname=web:api \
  "$PROXY" systemd:api "$ECHO_ADDR"
sdn_pid=$LAST_PID
until_exists "$WORK/api.sock"
reply=$(printf 'named\n' | timeout 10 socat -t 5 - UNIX-CONNECT:"$WORK/api.sock") ||
  fail "socat through systemd:api"
[ "$reply" = named ] || fail "echo through systemd:api: \"$reply\""
wait_for "$WORK/sdn.log" "relaying $WORK/api.sock " >/dev/null
stop "$sdn_pid" "LOCAL systemd:api"
pass "LOCAL systemd:api took the socket named api of two passed (LISTEN_FDNAMES=web:api)"

# 3. fd:9: the socket moved by a shell before the proxy starts.
port=$(free_port)
start sd9 systemd-socket-activate -l "127.0.0.1:$port" \
  bash -c 'exec 9<&3 3<&-; exec "$0" --threads 2 fd:9 "$1"' "$PROXY" "$ECHO_ADDR"
sd9_pid=$LAST_PID
wait_for "$WORK/sd9.log" "^Listening on 127.0.0.1:$port" >/dev/null
echo_through_tcp "$port" nine
# The listening socket's inode (/proc/net/tcp: local port in hex, state 0A
# LISTEN), then how many of the proxy's descriptors hold it: one per thread
# (9 not among them).
inode=$(awk -v p="$(printf ':%04X' "$port")" '$2 ~ p"$" && $4 == "0A" {print $10}' /proc/net/tcp)
[ -n "$inode" ] || fail "fd:9: no listening socket on port $port in /proc/net/tcp"
held=$(find "/proc/$sd9_pid/fd" -lname "socket:\[$inode\]" | wc -l)
[ "$held" = 2 ] || fail "fd:9, 2 threads: the proxy holds the listening socket $held times, want 2 (9 not closed?)"
stop "$sd9_pid" "LOCAL fd:9"
pass "LOCAL fd:9 served a client; the proxy holds its socket once per thread (9 closed once adopted)"

# 5. --threads 2 on LOCAL systemd: every thread accepts on the one socket.
CTL=$WORK/ctl.sock
# ask COMMAND: the control socket's answer.
ask() { printf '%s\n' "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$CTL"; }
# every_thread_accepts PORT WHAT: rounds of 8 connections to PORT (50 at
# most) until each of the 2 threads has served more than before, by the
# control socket's counts; prints them.
every_thread_accepts() {
  local before now
  before=$(ask stats | jq -c .thread_connections)
  for _ in $(seq 50); do
    timeout 20 "$PUSH" -n 1K -c 8 -t 15 "127.0.0.1:$1" >"$WORK/push.log" 2>&1 ||
      fail "$2: no relay: $(cat "$WORK/push.log")"
    now=$(ask stats | jq -c .thread_connections)
    jq -en --argjson b "$before" --argjson n "$now" \
      '($n | length) == 2 and ([0, 1] | all($n[.] > ($b[.] // 0)))' >/dev/null && { echo "$now"; return; }
  done
  fail "$2: after 400 connections the threads have served $now (before: $before): not both accept"
}
port=$(free_port)
start sdt systemd-socket-activate -l "127.0.0.1:$port" \
  "$PROXY" --threads 2 --control "$CTL" systemd "$ECHO_ADDR"
sdt_pid=$LAST_PID
wait_for "$WORK/sdt.log" "^Listening on 127.0.0.1:$port" >/dev/null
echo_through_tcp "$port" threads # starts the proxy
wait_for "$WORK/sdt.log" 'relaying ' >/dev/null
first=$(every_thread_accepts "$port" "LOCAL systemd, 2 threads")
kill -HUP "$sdt_pid"
wait_for "$WORK/sdt.log" 'reloaded' >/dev/null
reloaded=$(every_thread_accepts "$port" "after a reload")
start sdnew "$PROXY" --threads 2 --control "$CTL" --takeover "$CTL" systemd "$ECHO_ADDR"
new_pid=$LAST_PID
PIDS+=("$new_pid")
wait_for "$WORK/sdnew.log" 'took over the listening sockets' 30 >/dev/null
rc=0
timeout 30 tail --pid="$sdt_pid" -f /dev/null || fail "the old proxy did not exit after the takeover"
wait "$sdt_pid" || rc=$?
[ "$rc" = 0 ] || fail "the old proxy exited $rc after the takeover, want 0"
taken=$(every_thread_accepts "$port" "after a takeover")
exec 8<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to port $port before the drain"
printf 'held\n' >&8 && read -r -t 10 reply <&8 && [ "$reply" = held ] || fail "the held connection: no echo"
[ "$(ask drain)" = ok ] || fail "drain did not answer ok"
until=$((SECONDS + 10)) # the threads close their descriptors of the socket
while timeout 5 socat -u /dev/null "TCP:127.0.0.1:$port" 2>/dev/null; do
  [ $SECONDS -lt $until ] || fail "10 s after the drain, a new client still connects (the socket is held open)"
  sleep 0.05
done
printf 'still\n' >&8 && read -r -t 10 reply <&8 && [ "$reply" = still ] || fail "the held connection: no echo during the drain"
exec 8>&- 8<&-
timeout 30 tail --pid="$new_pid" -f /dev/null || fail "the new proxy did not exit after the drain"
rc=0
wait "$new_pid" || rc=$?
[ "$rc" = 0 ] || fail "the new proxy exited $rc after the drain, want 0"
pass "LOCAL systemd, --threads 2: both threads accept (connections per thread $first; after a reload $reloaded; in the process that took it over $taken); a drain refuses new clients, the open one echoes, exit 0"

# 4. Refusals: exit 1 at once, the message names LOCAL.
refused() { # EXPECTED-TEXT COMMAND...
  local want=$1 out rc=0
  shift
  out=$(timeout 10 "$@" 2>&1 </dev/null) || rc=$?
  [ "$rc" = 1 ] || fail "$*: exit $rc, want 1 (output: $out)"
  grep -qF -- "$want" <<<"$out" || fail "$*: \"$out\" lacks \"$want\""
}
checks=0
refused "LOCAL systemd: no socket was passed" env -u LISTEN_PID -u LISTEN_FDS "$PROXY" systemd "$ECHO_ADDR"
checks=$((checks + 1))
refused 'LISTEN_FDS="two" is not a count of descriptors' \
  bash -c 'export LISTEN_PID=$$ LISTEN_FDS=two; exec "$0" systemd "$1"' "$PROXY" "$ECHO_ADDR"
checks=$((checks + 1))
refused "LOCAL systemd:db: no socket of that name was passed" \
  systemd-socket-activate -l "$WORK/other.sock" --fdname=web "$PROXY" systemd:db "$ECHO_ADDR" &
other_pid=$!
until_exists "$WORK/other.sock"
socat -u /dev/null UNIX-CONNECT:"$WORK/other.sock" # starts it
wait "$other_pid" || fail "LOCAL systemd:db: not refused as expected"
checks=$((checks + 1))
refused "LOCAL fd:99: descriptor 99 is not open" "$PROXY" fd:99 "$ECHO_ADDR"
checks=$((checks + 1))
refused "LOCAL fd:0: descriptor 0 is not a socket" "$PROXY" fd:0 "$ECHO_ADDR"
checks=$((checks + 1))
refused "LOCAL fd:x1: fd:N takes a descriptor number" "$PROXY" fd:x1 "$ECHO_ADDR"
checks=$((checks + 1))
# A connected socket, not a listening one, as descriptor 5.
refused "LOCAL fd:5: descriptor 5 is not listening" \
  bash -c 'exec 5<>"/dev/tcp/${1%:*}/${1##*:}" && exec "$0" fd:5 "$1"' "$PROXY" "$ECHO_ADDR"
checks=$((checks + 1))
pass "$checks refused inherited LOCALs: exit 1, each message naming LOCAL"
