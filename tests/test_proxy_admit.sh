#!/usr/bin/env bash
# rsock-proxy's limits that protect the service (issue 15, item 6):
# 1. --max-per-client 2: two connections from 127.0.0.1 echo, the third is
#    closed with a log line and counted (errors_total kind="limit"), one from
#    127.0.0.2 is served meanwhile; once one of the two closes, 127.0.0.1
#    gets a connection again (the count goes down; the entry is freed at 0);
# 2. --rate-limit 5: a burst of 50 connections gets about 5 through (the
#    bucket's 5, plus 5 per second the burst lasts), the rest are closed,
#    and the metric counts exactly those refused;
# 3. --buffer-budget 4 MiB (one connection relays at a time): 6 bulk
#    transfers at once all complete, checksummed, none refused or dropped,
#    and the log says connections waited.
source "$(dirname "$0")/lib/proxy.sh"
need socat curl
checks=0
start_echo 127.0.0.1:0

metrics_url() { wait_for "$WORK/proxy.log" 'metrics at ' | sed -E 's/.*metrics at (.*)/\1/'; }
# limited: the proxy's count of connections refused by a limit.
limited() {
  curl -fsS "$METRICS" | awk -F' ' '/^rsock_proxy_errors_total\{.*kind="limit"/ {n += $2} END {print n + 0}'
}
# echoes [SOCAT-OPTIONS]: one connection sends "x" and gets it back.
echoes() { [ "$(printf x | timeout 5 socat - "TCP:$PROXY_ADDR${1:-}" 2>/dev/null)" = x ]; }
stop_proxy() { kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; }
port=

# ---- 1. --max-per-client 2 ----
start_proxy --max-per-client 2 --metrics 127.0.0.1:0 "$ECHO_ADDR"
METRICS=$(metrics_url)
port=$(port_of "$PROXY_ADDR")
held() { # held FD-VARIABLE: a connection from 127.0.0.1 that echoes a line
  exec {fd}<>"/dev/tcp/127.0.0.1/$port"
  printf 'held\n' >&"$fd"
  local line; read -t 5 -r line <&"$fd" || fail "a held connection got no echo"
  [ "$line" = held ] || fail "a held connection echoed \"$line\""
  printf -v "$1" %s "$fd"
}
held one
held two
exec {third}<>"/dev/tcp/127.0.0.1/$port"
printf 'third\n' >&"$third" 2>/dev/null || true
rc=0; read -t 5 -r line <&"$third" 2>/dev/null || rc=$?
[ "$rc" -le 128 ] || fail "the third connection from 127.0.0.1 was neither served nor closed in 5 s"
[ -z "${line:-}" ] || fail "the third connection from 127.0.0.1 was served: \"$line\""
exec {third}<&-
wait_for "$WORK/proxy.log" '127\.0\.0\.1:[0-9]+: refused: over --max-per-client' >/dev/null
echoes ",bind=127.0.0.2" || fail "127.0.0.2 not served while 127.0.0.1 is at its limit"
[ "$(limited)" = 1 ] || fail "errors_total kind=limit is $(limited), want 1"
exec {one}<&-
served=no
for _ in $(seq 100); do echoes && { served=yes; break; }; sleep 0.05; done
[ $served = yes ] || fail "127.0.0.1 not served again after one of its two closed"
exec {two}<&-
stop_proxy
pass "--max-per-client 2: the third from 127.0.0.1 refused and counted, 127.0.0.2 served, a freed place taken again"
checks=$((checks + 1))

# ---- 2. --rate-limit 5 ----
: >"$WORK/proxy.log"
start_proxy --rate-limit 5 --metrics 127.0.0.1:0 "$ECHO_ADDR"
METRICS=$(metrics_url)
# The burst: 50 connections opened at once from this shell, each sent "x".
began=$(date +%s%N)
burst=()
pport=$(port_of "$PROXY_ADDR")
for _ in $(seq 50); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$pport"
  printf x >&"$fd" 2>/dev/null || true
  burst+=("$fd")
done
through=0
for fd in "${burst[@]}"; do
  got=; read -t 5 -r -n 1 got <&"$fd" 2>/dev/null || true
  [ "$got" = x ] && through=$((through + 1))
  exec {fd}<&-
done
ms=$((($(date +%s%N) - began) / 1000000)) # the last admission was before this
refused=$(limited)
# The bucket holds 5; it refills at 5/s while the burst lasts.
most=$((5 + 5 * ms / 1000 + 1))
[ "$through" -ge 5 ] && [ "$through" -le "$most" ] ||
  fail "--rate-limit 5: $through of 50 got through in $ms ms, want 5..$most"
[ "$refused" = $((50 - through)) ] || fail "--rate-limit 5: errors_total kind=limit $refused, want $((50 - through))"
grep -Eq 'refused: over --rate-limit' "$WORK/proxy.log" || fail "no log line for a refusal"
stop_proxy
pass "--rate-limit 5: a burst of 50 in $ms ms: $through through, $refused refused and counted"
checks=$((checks + 1))

# ---- 3. --buffer-budget ----
: >"$WORK/proxy.log"
start_proxy --threads 1 --buffer-budget $((4 * 1024 * 1024)) "$ECHO_ADDR"
wait_for "$WORK/proxy.log" 'buffer budget 4194304 bytes: 1 connection relay' >/dev/null
timeout 90 "$PUSH" -n 16M -c 6 -t 80 "$PROXY_ADDR" >"$WORK/push.log" 2>&1 ||
  fail "--buffer-budget: the transfers failed: $(cat "$WORK/push.log")"
grep -q 'checksum ok' "$WORK/push.log" || fail "--buffer-budget: $(cat "$WORK/push.log")"
grep -q 'buffer budget full (1 connections relaying): new connections wait' "$WORK/proxy.log" ||
  fail "--buffer-budget: no connection waited"
stop_proxy
summary=$(grep -E 'exit: connections=' "$WORK/proxy.log") || fail "no summary line"
grep -q 'connections=6 .*errors=0' <<<"$summary" || fail "--buffer-budget: $summary"
pass "--buffer-budget 4 MiB: 6 x 16 MiB at once, one relaying at a time: all echoed, checksummed ($summary)"
checks=$((checks + 1))

echo "$checks passed, 0 failed"
