#!/usr/bin/env bash
# rsock-proxy at its limits: no connection is starved or dropped.
# 1. --max-conns 1 --threads 2, an idle proxy, 12 clients one after another:
#    every one is served (an idle acceptor must not hold the only slot while
#    the client waits in the other thread's backlog; issue 10, item 6).
# 2. Under a descriptor limit (ulimit -n 512, one thread), after 80 slow
#    clients have filled the pool of pipes, 240 clients at once, each sent
#    256 KiB: every one gets all its bytes, none is accepted and then
#    dropped for want of a descriptor (the budget counts pooled pipes, and
#    the upstream socket is made before the accept; issue 10, item 7).
source "$(dirname "$0")/lib/proxy.sh"
start_echo 127.0.0.1:0
checks=0

start_proxy --max-conns 1 --threads 2 "$ECHO_ADDR"
for i in $(seq 12); do
  timeout 10 "$PUSH" -n 64K -t 5 "$PROXY_ADDR" >"$WORK/seq.log" 2>&1 ||
    fail "--max-conns 1 --threads 2: client $i of 12 not served: $(cat "$WORK/seq.log")"
done
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
summary=$(grep -E 'exit: connections=' "$WORK/proxy.log") || fail "no summary line"
grep -q 'connections=12 .*errors=0' <<<"$summary" || fail "summary: $summary"
pass "--max-conns 1 --threads 2: 12 sequential clients all served ($summary)"
checks=$((checks + 1))

: >"$WORK/proxy.log"
start floods "$PEER" floods 0 262144
fport=$(wait_for "$WORK/floods.log" '^listening ' | cut -d' ' -f2)
start proxy bash -c "ulimit -n 512 && exec \"$PROXY\" --threads 1 --sockopt client:SO_SNDBUF=4096 127.0.0.1:0 127.0.0.1:$fport"
PROXY_PID=$LAST_PID
PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
pipes() { find "/proc/$PROXY_PID/fd" -lname 'pipe:*' 2>/dev/null | wc -l; }
# stalled N: N clients that read only once told to; each must get 256 KiB.
stalled() {
  local n=$1 name=stall$1
  start "$name" "$PEER" stall "$(port_of "$PROXY_ADDR")" "$n" 60
  local pid=$LAST_PID
  wait_for "$WORK/$name.log" '^stalling ' >/dev/null
  for _ in $(seq 100); do [ "$(pipes)" -ge "${2:-0}" ] && break; sleep 0.05; done
  kill -USR1 "$pid"
  wait "$pid" || true
  grep -q "^ended $n of $n, $((n * 262144)) bytes" "$WORK/$name.log" ||
    fail "ulimit -n 512: $n clients: $(tail -1 "$WORK/$name.log")"
}
stalled 80 64
pooled=$(pipes)
[ "$pooled" -ge 64 ] || fail "80 slow clients left $pooled pipe descriptors pooled, expected 64 or more"
stalled 240
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
summary=$(grep -E 'exit: connections=' "$WORK/proxy.log") || fail "no summary line"
grep -q 'connections=320 .*errors=0' <<<"$summary" || fail "summary: $summary"
pass "ulimit -n 512, $pooled pipe descriptors pooled: 240 clients at once all served in full ($summary)"
checks=$((checks + 1))

echo "$checks passed, 0 failed"
