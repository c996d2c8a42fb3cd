#!/usr/bin/env bash
# rsock-proxy under a long run of short connections (issue 16): TOTAL
# connections, 64 at a time, each reading 64 bytes that the server sends
# before it closes first (the shape of the bench's conn/s test).  Checks,
# not timed: every connection served; resident memory at the end within 10%
# of what it was after the first 100,000 (a fixed budget whatever the
# count); no connection left open (the proxy's counters and the kernel's
# sockets).
# TOTAL is PROXY_CHURN_TOTAL, default 1,000,000 (the issue's count): 88 s
# alone on the 2-core host at 11k connections/s, under the 280 s bound
# below even if ctest's other tests halve the rate.  Under AddressSanitizer
# 100,000, without the memory check: its allocator quarantines freed blocks
# (256 MiB by default), so its resident memory grows with every connection
# ever made, by design (issue 16's growth came from such a build, see
# bench/README.md).
source "$(dirname "$0")/lib/proxy.sh"
need ss
asan=0
grep -q 'RSOCK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && asan=1
total=${PROXY_CHURN_TOTAL:-$([ "$asan" = 1 ] && echo 100000 || echo 1000000)}
first=$((total >= 200000 ? 100000 : total / 10))

start server "$PEER" oneshot 0 64
sport=$(wait_for "$WORK/server.log" '^listening ' | cut -d' ' -f2)
start_proxy "127.0.0.1:$sport"
pport=$(port_of "$PROXY_ADDR")
timeout 280 "$PEER" churn "$pport" "$total" 64 "$PROXY_PID" "$first" >"$WORK/churn.log" 2>&1 ||
  fail "the load did not finish: $(tail -2 "$WORK/churn.log")"
result=$(grep '^connections ' "$WORK/churn.log") || fail "no result: $(cat "$WORK/churn.log")"
read -r _ done _ failures _ secs _ rate _ rss_end <<<"$result"
rss_first=$(awk '/^rss_kib_after_first/ {print $3}' "$WORK/churn.log")
[ "$done" = "$total" ] && [ "$failures" = 0 ] || fail "$failures of $done connections failed"

kill -USR1 "$PROXY_PID"
summary=$(wait_for "$WORK/proxy.log" 'summary: connections=')
grep -q "connections=$total active=0 .*errors=0" <<<"$summary" || fail "counters: $summary"
open_client=$(ss -tnH state established "( sport = :$pport )" | wc -l)
open_server=$(ss -tnH state established "( dport = :$sport )" | wc -l)
[ "$open_client" = 0 ] && [ "$open_server" = 0 ] ||
  fail "$open_client connections from clients and $open_server to the server left open"
if [ "$asan" = 0 ]; then
  [ $((rss_end * 10)) -lt $((rss_first * 11)) ] ||
    fail "resident memory grew from $rss_first KiB after $first connections to $rss_end KiB after $total"
fi
pass "$total short connections, 64 at a time, in $secs s ($rate/s): all served, none left open; RSS $rss_first KiB after the first $first, $rss_end KiB at the end; $summary"
echo "1 passed, 0 failed"
