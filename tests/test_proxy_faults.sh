#!/usr/bin/env bash
# rsock-proxy under faults: each case checks the client's view, and that the
# proxy lives on and keeps serving others.
source "$(dirname "$0")/lib/proxy.sh"
need socat
start_echo 127.0.0.1:0
checks=0
served() { # the proxy at $1 still relays a checked 64 KiB to the echo server
  timeout 20 "$PUSH" -n 64K "$1" >/dev/null 2>&1 || fail "the proxy at $1 stopped serving"
}

# 1. The remote refuses: the client sees the connection closed, the proxy logs it.
dead=$(free_port)
start_proxy "127.0.0.1:$dead"
refused_proxy=$PROXY_ADDR refused_pid=$PROXY_PID
out=$(printf 'hello' | timeout 10 socat -t 2 - "TCP:$refused_proxy" 2>&1 || true)
[ -z "$out" ] || fail "refused remote: the client got \"$out\""
logged=$(wait_for "$WORK/proxy.log" "cannot reach 127\\.0\\.0\\.1:$dead: .*Connection refused")
alive "$refused_pid" || fail "the proxy died after a refused connect"
kill "$refused_pid"; wait "$refused_pid" 2>/dev/null || true
pass "remote refuses: client closed, proxy logged \"$logged\""
checks=$((checks + 1))

# 2. The remote resets mid-stream: the client sees the data, then an end.
start reset "$PEER" reset 0
rport=$(wait_for "$WORK/reset.log" '^listening ' | cut -d' ' -f2)
start_proxy "127.0.0.1:$rport"
got=$(timeout 10 socat -u "TCP:$PROXY_ADDR" - 2>/dev/null | wc -c || true)
[ "$got" -le 65536 ] || fail "reset remote: client got $got bytes"
alive "$PROXY_PID" || fail "the proxy died after a reset"
reset_pid=$PROXY_PID
pass "remote resets mid-stream: client got $got of 65536 bytes, then the end; proxy alive"
checks=$((checks + 1))
kill "$reset_pid"; wait "$reset_pid" 2>/dev/null || true

# 3. The client half-closes and still reads the remote's answer.
start answer "$PEER" answer 0
aport=$(wait_for "$WORK/answer.log" '^listening ' | cut -d' ' -f2)
start_proxy "127.0.0.1:$aport"
reply=$(head -c 100000 /dev/zero | timeout 10 socat -t 5 - "TCP:$PROXY_ADDR")
[ "$reply" = "got 100000 bytes" ] || fail "half-close: the answer was \"$reply\""
pass "client half-closes, still reads the answer: \"$reply\""
checks=$((checks + 1))
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

# 4. A client that never reads while the remote floods: the proxy's memory
#    stays bounded (it stops reading the remote; the kernel buffers hold the rest).
start flood "$PEER" flood 0 $((200 << 20))
fport=$(wait_for "$WORK/flood.log" '^listening ' | cut -d' ' -f2)
start_proxy "127.0.0.1:$fport"
exec 7<>"/dev/tcp/127.0.0.1/$(port_of "$PROXY_ADDR")"   # connect, never read
sleep 2
rss=$(kib "$PROXY_PID" VmRSS)
[ "$rss" -lt $((64 * 1024)) ] || fail "non-reading client: proxy RSS $rss KiB"
exec 7<&- 7>&-
pass "client never reads: proxy RSS $((rss / 1024)) MiB while the remote floods"
checks=$((checks + 1))
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

# 5. The remote is a Unix socket.
start uecho "$ECHO" -q "$WORK/echo.sock"
wait_for "$WORK/uecho.log" '^listening on ' >/dev/null
start_proxy "$WORK/echo.sock"
timeout 30 "$PUSH" -n 8M -c 4 "$PROXY_ADDR" >"$WORK/upush.log" 2>&1 || fail "TCP to Unix: $(cat "$WORK/upush.log")"
pass "remote is a Unix socket: $(cat "$WORK/upush.log")"
checks=$((checks + 1))
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

# 6. --max-conns reached: extra clients wait in the backlog, none is dropped.
start_proxy --max-conns 2 "$ECHO_ADDR"
timeout 60 "$PUSH" -n 4M -c 10 "$PROXY_ADDR" >"$WORK/mpush.log" 2>&1 || fail "--max-conns 2: $(cat "$WORK/mpush.log")"
pass "--max-conns 2 with 10 clients: $(cat "$WORK/mpush.log")"
checks=$((checks + 1))
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

# 7. Out of descriptors: the proxy (ulimit -n 64) is flooded with idle
#    clients; while they hold it at the limit its CPU stays idle, and when
#    they go it serves again.  (rsock-proxy caps its connections to what the
#    limit can hold, two descriptors each, so the rest wait in the backlog
#    rather than being accepted and dropped.)
start_proxy_limited() {
  start proxy bash -c "ulimit -n 64 && exec \"$PROXY\" --threads 1 127.0.0.1:0 $ECHO_ADDR"
  PROXY_PID=$LAST_PID
  PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
}
: >"$WORK/proxy.log"
start_proxy_limited
start hold "$PEER" hold "$(port_of "$PROXY_ADDR")" 100 6
wait_for "$WORK/hold.log" '^holding ' >/dev/null
sleep 1
t0=$(cpu_ticks "$PROXY_PID"); sleep 2; t1=$(cpu_ticks "$PROXY_PID")
hz=$(getconf CLK_TCK)
cpu=$(( (t1 - t0) * 100 / (2 * hz) ))
[ "$cpu" -lt 20 ] || fail "at the descriptor limit the proxy used ${cpu}% of a core"
alive "$PROXY_PID" || fail "the proxy died at the descriptor limit"
wait "$LAST_PID" 2>/dev/null || true   # the idle clients leave
served "$PROXY_ADDR"
pass "descriptor limit: ${cpu}% CPU while 100 clients held 64 descriptors; serves again after"
checks=$((checks + 1))

echo "$checks passed, 0 failed"
