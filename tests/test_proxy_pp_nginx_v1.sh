#!/usr/bin/env bash
# rsock-proxy --send-proxy v1 in front of nginx `listen ... proxy_protocol`
# (issue 14, item 8): nginx answers and logs $proxy_protocol_addr and
# $proxy_protocol_port, which must be curl's own address and port (nginx
# refuses a connection whose v1 line it cannot read: "broken header"); the
# proxy's health checks send "PROXY UNKNOWN", which nginx must take.
source "$(dirname "$0")/lib/proxy.sh"
need nginx curl
port=$(free_port) port2=$(free_port)
# Ready when it answers a header curl sends itself.
start_nginx "http://127.0.0.1:$port/" --haproxy-protocol <<CONF
  log_format pp 'pp \$proxy_protocol_addr \$proxy_protocol_port via \$remote_addr';
  access_log $WORK/nginx/access.log pp;
  server {
    listen 127.0.0.1:$port proxy_protocol;
    listen 127.0.0.1:$port2 proxy_protocol;
    location / { return 200 "\$proxy_protocol_addr \$proxy_protocol_port\n"; }
  }
CONF
# Two backends (the two listens): a pool of one is never checked.
start proxy "$PROXY" -v --send-proxy v1 --health-interval 0.2 127.0.0.1:0 "127.0.0.1:$port" \
  "127.0.0.1:$port2"
PROXY_PID=$LAST_PID
PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
for i in 1 2 3; do
  out=$(timeout 10 curl -sS --fail -w '%{local_ip} %{local_port}' "http://$PROXY_ADDR/") ||
    fail "request $i through rsock-proxy to nginx: $out"
  seen=$(head -1 <<<"$out") mine=$(tail -1 <<<"$out")
  [ "$seen" = "$mine" ] || fail "nginx saw the client as '$seen', curl was '$mine'"
  wait_for "$WORK/nginx/access.log" "^pp $mine via 127.0.0.1\$" >/dev/null
done
pass "nginx (proxy_protocol) answered and logged curl's own address from rsock-proxy's v1 line: $seen"
# A health check (every 0.2 s) sends "PROXY UNKNOWN" and no request: nginx
# takes the line and notes the client that closed while it waited.
wait_for "$WORK/nginx/error.log" 'client closed connection while waiting for request' >/dev/null
grep -q 'broken header' "$WORK/nginx/error.log" &&
  fail "nginx could not read a PROXY line: $(grep 'broken header' "$WORK/nginx/error.log" | head -3)"
alive "$PROXY_PID" || fail "the proxy died"
pass "health checks with PROXY UNKNOWN lines: nginx took them"
echo "2 passed, 0 failed"
