#!/usr/bin/env bash
# rsock-proxy with a pool of three backends (issue 14, items 1, 2 and 8):
# round robin, leastconn and hash spread clients as they say; a backend that
# stops is retried past at once (no client fails), marked down by the checks
# and up again when it returns; with every backend down a client is closed
# at once (well under the 10 s connect timeout) with a log line; curl and iperf3 through the pool while one
# backend is stopped and started again see no failure.
source "$(dirname "$0")/lib/proxy.sh"
need socat curl nginx iperf3
checks=0

# nginx_on N PORT: backend N, an nginx that answers "/" with "bN" (and
# serves files from $www); nginx answers without a fork per connection, so
# a loaded host delays nobody much.
www=$WORK/www; mkdir -p "$www"; head -c $((1 << 20)) /dev/urandom >"$www/f.bin"
nginx_on() {
  mkdir -p "$WORK/n$1"
  cat >"$WORK/n$1/nginx.conf" <<CONF
daemon off; worker_processes 1; user root; error_log $WORK/n$1/error.log; pid $WORK/n$1/nginx.pid;
events { worker_connections 256; }
http { access_log off; client_body_temp_path $WORK/n$1; proxy_temp_path $WORK/n$1;
  fastcgi_temp_path $WORK/n$1; uwsgi_temp_path $WORK/n$1; scgi_temp_path $WORK/n$1;
  server { listen 127.0.0.1:$2; root $www; location = / { return 200 "b$1\n"; } } }
CONF
  start "nginx$1" nginx -c "$WORK/n$1/nginx.conf" -p "$WORK/n$1"; eval "B$1_PID=$LAST_PID"
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$2/" && return; sleep 0.05; done
  fail "nginx $1 did not start"
}
backend() { nginx_on "$@"; }
ask() { curl -s --max-time 20 ${1:+--interface "$1"} "http://$PROXY_ADDR/" 2>/dev/null || true; }
up_wait() { for _ in $(seq 100); do socat -T1 - "TCP:127.0.0.1:$1" </dev/null >/dev/null 2>&1 && return; sleep 0.05; done; fail "backend on $1 did not start"; }
stop_backend() { local pid="B$1_PID"; kill "${!pid}"; wait "${!pid}" 2>/dev/null || true; }

P1=$(free_port) P2=$(free_port) P3=$(free_port)
backend 1 "$P1"; backend 2 "$P2"; backend 3 "$P3"
up_wait "$P1"; up_wait "$P2"; up_wait "$P3"
POOL=(127.0.0.1:$P1 127.0.0.1:$P2 127.0.0.1:$P3)

# pool_proxy OPTIONS...: rsock-proxy on 127.0.0.1:0 in front of the pool.
pool_proxy() {
  : >"$WORK/proxy.log"
  start proxy "$PROXY" -v "$@" 127.0.0.1:0 "${POOL[@]}"
  PROXY_PID=$LAST_PID
  PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
}
end_proxy() { kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; }

# 1. Round robin: 30 clients, 10 to each backend.
pool_proxy --health-interval 0
for _ in $(seq 30); do ask; done | sort | uniq -c | awk '{print $1}' | sort -u >"$WORK/rr"
[ "$(cat "$WORK/rr")" = 10 ] || fail "round robin: counts per backend $(tr '\n' ' ' <"$WORK/rr"), want 10 each"
grep -q 'relaying 127.0.0.1:[0-9]* -> 127.0.0.1:.*, 127.0.0.1:.*, 127.0.0.1:.* (rr)' "$WORK/proxy.log" ||
  fail "the start line does not name the pool: $(head -1 "$WORK/proxy.log")"
end_proxy
pass "round robin: 30 clients, 10 to each of 3 backends"; checks=$((checks + 1))

# 2. Leastconn: two clients hold connections; the next goes to the third backend.

POOL_SAVED=("${POOL[@]}")
H1=$(free_port) H2=$(free_port) H3=$(free_port)
start h1 socat "TCP-LISTEN:$H1,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"echo h1; sleep 30"; HOLD1=$LAST_PID
start h2 socat "TCP-LISTEN:$H2,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"echo h2; sleep 30"; HOLD2=$LAST_PID
start h3 socat "TCP-LISTEN:$H3,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"echo h3; sleep 30"; HOLD3=$LAST_PID
up_wait "$H1"; up_wait "$H2"; up_wait "$H3"
POOL=(127.0.0.1:$H1 127.0.0.1:$H2 127.0.0.1:$H3)
pool_proxy --health-interval 0 --balance leastconn
start c1 socat -T 20 -u "TCP:$PROXY_ADDR" -; C1=$LAST_PID  # -u: stdin (/dev/null) is never read, so no half-close
start c2 socat -T 20 -u "TCP:$PROXY_ADDR" -; C2=$LAST_PID
first=$(wait_for "$WORK/c1.log" '^h') second=$(wait_for "$WORK/c2.log" '^h')
third=$(timeout 5 socat -T 1 - "TCP:$PROXY_ADDR" </dev/null 2>/dev/null | head -1 || true)
[ "$first" != "$second" ] && [ -n "$third" ] && [ "$third" != "$first" ] && [ "$third" != "$second" ] ||
  fail "leastconn: held $first and $second, the next went to \"$third\""
kill "$C1" "$C2" "$HOLD1" "$HOLD2" "$HOLD3" 2>/dev/null || true
end_proxy
POOL=("${POOL_SAVED[@]}")
pass "leastconn: two held connections on $first and $second, the next to $third"; checks=$((checks + 1))

# 3. Hash: each client address keeps its backend; when one backend goes,
#    only its clients move.
pool_proxy --health-interval 0.2 --fall 2 --rise 2 --balance hash
for i in $(seq 2 31); do echo "$i $(ask 127.0.0.$i) $(ask 127.0.0.$i)"; done >"$WORK/hash1"
awk '$2 != $3 || $2 == "" {exit 1}' "$WORK/hash1" || fail "hash: a client changed backend: $(tr "\n" , <"$WORK/hash1")"
[ "$(awk '{print $2}' "$WORK/hash1" | sort -u | wc -l)" = 3 ] || fail "hash: 30 clients did not spread on 3 backends"
stop_backend 2
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P2 .*is down" 30 >/dev/null
for i in $(seq 2 31); do echo "$i $(ask 127.0.0.$i)"; done >"$WORK/hash2"
moved=$(join "$WORK/hash1" "$WORK/hash2" | awk '$2 != "b2" && $2 != $4' | wc -l)
lost=$(awk '$2 == "" || $2 == "b2"' "$WORK/hash2" | wc -l)
[ "$moved" = 0 ] && [ "$lost" = 0 ] || fail "hash: $moved clients of live backends moved, $lost failed"
pass "hash: 30 client addresses keep their backend; b2 stopped: only its clients moved"; checks=$((checks + 1))

# 4. b2 comes back: the checks mark it up and it serves again.
backend 2 "$P2"; up_wait "$P2"
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P2 .*is up" 30 >/dev/null
for i in $(seq 2 31); do echo "$i $(ask 127.0.0.$i)"; done >"$WORK/hash3"
cmp -s <(awk '{print $1, $2}' "$WORK/hash1") "$WORK/hash3" || fail "hash: after b2 came back the clients did not return"
end_proxy
pass "b2 restarted: marked up by the checks, its clients back"; checks=$((checks + 1))

# 5. A backend stops with no checks: the clients it would get are retried
#    on the next backend, none fails; the failures mark it down.
pool_proxy --health-interval 0 --fall 2
stop_backend 3
for _ in $(seq 30); do ask; done >"$WORK/retry"
[ "$(grep -c '^b[12]$' "$WORK/retry")" = 30 ] || fail "retry: $(sort "$WORK/retry" | uniq -c | tr '\n' ' ')"
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P3 .*is down" 30 >/dev/null
pass "b3 stopped: 30 clients all served by b1 and b2 (retried), b3 marked down"; checks=$((checks + 1))

# 6. Every backend down: a client is closed at once, with a log line.
stop_backend 1; stop_backend 2
for _ in 1 2 3 4; do ask >/dev/null; done
t0=$(date +%s%N); got=$(ask); t1=$(date +%s%N)
[ -z "$got" ] && [ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "all down: got \"$got\" after $(((t1 - t0) / 1000000)) ms"
wait_for "$WORK/proxy.log" 'no backend of 127.0.0.1:0 is up: closed' 30 >/dev/null
end_proxy
pass "every backend down: the client closed in $(((t1 - t0) / 1000000)) ms, logged"; checks=$((checks + 1))

# 7. curl through a pool of three nginx while one stops and starts again.
backend 1 "$P1"; backend 2 "$P2"; backend 3 "$P3"
POOL=(127.0.0.1:$P1 127.0.0.1:$P2 127.0.0.1:$P3)
pool_proxy --health-interval 0.2 --fall 2 --rise 2
want=$(sha256sum <"$www/f.bin")
curls() { for _ in $(seq "$1"); do
  timeout 10 curl -sS --fail "http://$PROXY_ADDR/f.bin" | sha256sum | grep -qF "${want%% *}" || echo fail; done; }
[ -z "$(curls 15)" ] || fail "curl through the pool"
stop_backend 2
[ -z "$(curls 15)" ] || fail "curl while nginx 2 is stopped"
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P2 .*is down" 30 >/dev/null
nginx_on 2 "$P2"
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P2 .*is up" 30 >/dev/null
[ -z "$(curls 15)" ] || fail "curl after nginx 2 came back"
end_proxy
pass "curl: 45 downloads through 3 nginx, one stopped and started again: none failed"; checks=$((checks + 1))
stop_backend 1; stop_backend 2; stop_backend 3

# 8. iperf3 through a pool of three iperf3 servers (hash: its control and
#    data connections reach the same one) while one stops and starts again.
iperf_on() { start "iperf$1" iperf3 -s -B 127.0.0.1 -p "$2"; eval "I$1_PID=$LAST_PID"; up_wait "$2"; }
iperf_on 1 "$P1"; iperf_on 2 "$P2"; iperf_on 3 "$P3"
pool_proxy --health-interval 0.2 --fall 2 --rise 2 --balance hash
iperf() { for i in $(seq 2 "$1"); do
  timeout 20 iperf3 -c 127.0.0.1 -B "127.0.0.$i" -p "$(port_of "$PROXY_ADDR")" -n 8M -J >/dev/null 2>&1 || echo "fail 127.0.0.$i"; done; }
[ -z "$(iperf 4)" ] || fail "iperf3 through the pool: $(iperf 4)"
kill "$I2_PID"; wait "$I2_PID" 2>/dev/null || true
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P2 .*is down" 30 >/dev/null
[ -z "$(iperf 4)" ] || fail "iperf3 with server 2 down"
iperf_on 2 "$P2"
wait_for "$WORK/proxy.log" "backend 127.0.0.1:$P2 .*is up" 30 >/dev/null
[ -z "$(iperf 4)" ] || fail "iperf3 after server 2 came back"
end_proxy
pass "iperf3: 9 runs through 3 servers, one stopped and started again: none failed"; checks=$((checks + 1))

echo "$checks passed, 0 failed"
