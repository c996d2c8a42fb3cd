#!/usr/bin/env bash
# rsock-proxy: a failure of either direction ends the connection (issue 10,
# item 3).  The proxy runs short of memory for real (prlimit --as: 4 MiB over
# its size at start) while 64 silent clients that never read take a REMOTE
# flood: copies fail with ENOMEM while the other direction waits on a client
# that says nothing.  Every such connection must end at once (logged with
# the error), every client must see its connection end, and none may be left
# open.  Before the fix the silent direction waited for ever.
source "$(dirname "$0")/lib/proxy.sh"
need prlimit
if grep -q 'RSOCK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "SKIP: an address-space limit cannot hold AddressSanitizer's shadow memory"; exit 0
fi

start floods "$PEER" floods 0 $((64 << 20))
fport=$(wait_for "$WORK/floods.log" '^listening ' | cut -d' ' -f2)
start_proxy -v --no-splice --threads 1 --sockopt client:SO_SNDBUF=4096 "127.0.0.1:$fport"
size=$(kib "$PROXY_PID" VmSize)
prlimit --pid "$PROXY_PID" --as=$(((size + 4096) * 1024)): || fail "prlimit --as"   # the soft limit

start stall "$PEER" stall "$(port_of "$PROXY_ADDR")" 64 30
stall_pid=$LAST_PID
wait_for "$WORK/stall.log" '^stalling 64' >/dev/null
why=$(wait_for "$WORK/proxy.log" 'connection ended: .*Cannot allocate memory' 20)
kill -USR1 "$stall_pid"                  # the clients read now, each to its end
wait "$stall_pid" || fail "not every client saw its connection end: $(tail -1 "$WORK/stall.log")"
ended=$(tail -1 "$WORK/stall.log")
failed=$(grep -c 'connection ended: .*Cannot allocate memory' "$WORK/proxy.log")

prlimit --pid "$PROXY_PID" --as=unlimited: || fail "prlimit: cannot lift the limit"
kill -USR1 "$PROXY_PID"
summary=$(wait_for "$WORK/proxy.log" 'summary: connections=')
grep -q ' active=0 ' <<<"$summary" || fail "connections left open: $summary"
alive "$PROXY_PID" || fail "the proxy died"
pass "out of memory: $failed connections failed and ended (\"${why#rsock-proxy: }\"); clients: $ended; $summary"
echo "1 passed, 0 failed"
