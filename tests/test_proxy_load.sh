#!/usr/bin/env bash
# 1,000 concurrent clients each send 1 MiB through rsock-proxy to an echo
# server and check every byte that comes back; no connection may fail, and
# the proxy's peak RSS must stay under 64 MiB.
source "$(dirname "$0")/lib/proxy.sh"
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
start_echo 127.0.0.1:0
start_proxy --sockopt listen:SO_RCVBUF=65536 "$ECHO_ADDR"
timeout 120 "$PUSH" -n 1M -c 1000 -t 100 "$PROXY_ADDR" >"$WORK/push.log" 2>&1 || fail "rsock-push: $(cat "$WORK/push.log")"
cat "$WORK/push.log"
hwm=$(kib "$PROXY_PID" VmHWM)
[ "$hwm" -lt $((64 * 1024)) ] || fail "proxy peak RSS $hwm KiB, over 64 MiB"
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
summary=$(grep -E 'exit: connections=' "$WORK/proxy.log") || fail "no summary line at exit"
grep -q 'connections=1000 ' <<<"$summary" && grep -q 'errors=0' <<<"$summary" || fail "summary: $summary"
pass "1000 clients x 1 MiB, every byte back; proxy peak RSS $((hwm / 1024)) MiB; $summary"
echo "1 passed, 0 failed"
