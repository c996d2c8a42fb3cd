#!/usr/bin/env bash
# rsock-proxy --send-proxy v2 in front of haproxy `bind ... accept-proxy`
# (issue 14, item 8): haproxy answers each request with the client address
# it took from our v2 header, which must be curl's own address and port,
# not the proxy's.  haproxy drops a connection whose header it cannot read,
# so a wrong header fails the requests; the proxy's health checks (v2 LOCAL
# headers) run meanwhile and must not make haproxy complain.
source "$(dirname "$0")/lib/proxy.sh"
need haproxy curl
port=$(free_port) port2=$(free_port)
# Ready when it answers a header curl sends itself (v1).
start_haproxy haproxy "http://127.0.0.1:$port/" --haproxy-protocol <<CONF
$(haproxy_head http log "option httplog")
frontend behind_rsock
  bind 127.0.0.1:$port accept-proxy
  bind 127.0.0.1:$port2 accept-proxy
  http-request return status 200 content-type text/plain lf-string "%[src] %[src_port]\n"
CONF
# Two backends (the two binds): a pool of one is never checked.
start proxy "$PROXY" -v --send-proxy v2 --health-interval 0.2 127.0.0.1:0 "127.0.0.1:$port" \
  "127.0.0.1:$port2"
PROXY_PID=$LAST_PID
PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
for i in 1 2 3; do
  out=$(timeout 10 curl -sS --fail -w '%{local_ip} %{local_port}' "http://$PROXY_ADDR/") ||
    fail "request $i through rsock-proxy to haproxy: $out"
  seen=$(head -1 <<<"$out") mine=$(tail -1 <<<"$out")
  [ "$seen" = "$mine" ] || fail "haproxy saw the client as '$seen', curl was '$mine'"
done
pass "haproxy (accept-proxy) saw curl's own address and port in rsock-proxy's v2 header: $seen"
# A health check (every 0.2 s) sends a v2 LOCAL header and no request:
# haproxy logs it as an empty request (<BADREQ>), never as a header error.
wait_for "$WORK/haproxy.log" '<BADREQ>' 10 >/dev/null
grep -qiE 'PROXY protocol' "$WORK/haproxy.log" &&
  fail "haproxy refused a PROXY header: $(grep -iE 'PROXY protocol' "$WORK/haproxy.log" | head -3)"
grep -qE ' is down|bad PROXY' "$WORK/proxy.log" && fail "the backend was marked down: $(tail -3 "$WORK/proxy.log")"
alive "$PROXY_PID" || fail "the proxy died"
pass "health checks with v2 LOCAL headers: haproxy took them, the backend stayed up"
echo "2 passed, 0 failed"
