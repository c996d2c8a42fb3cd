#!/usr/bin/env bash
# haproxy `server ... send-proxy-v2` in front of rsock-proxy --accept-proxy
# (issue 14, items 3 and 8): curl -> haproxy (tcp) -> rsock-proxy -> a web
# server (a second haproxy).  rsock-proxy -v must log curl's own address,
# read from haproxy's v2 header, not haproxy's.  haproxy's health checks
# send their own headers (check-send-proxy) and must be taken too.  A
# client without a header, or too slow with it, is closed with a log line,
# and the others are served as before.
source "$(dirname "$0")/lib/proxy.sh"
need haproxy curl
web=$(free_port) front=$(free_port)
start_haproxy web "http://127.0.0.1:$web/" <<CONF
$(haproxy_head http)
frontend web
  bind 127.0.0.1:$web
  http-request return status 200 content-type text/plain string "hello"
CONF
start_proxy -v --accept-proxy --proxy-timeout 0.5 "127.0.0.1:$web"
start_haproxy front "http://127.0.0.1:$front/" <<CONF
$(haproxy_head tcp log)
frontend front
  bind 127.0.0.1:$front
  default_backend rsock
backend rsock
  option httpchk GET /
  option log-health-checks
  # A check every 0.2 s, but a slow one is not a failed one: the check's
  # time limit would be 0.2 s too, which a sanitizer build on a loaded host
  # overran (the test is about the headers, not the latency).
  timeout check 5s
  server rp $PROXY_ADDR send-proxy-v2 check check-send-proxy inter 200
CONF

checks=0
for i in 1 2 3; do
  out=$(timeout 10 curl -sS --fail -w '\n%{local_ip}:%{local_port}' "http://127.0.0.1:$front/") ||
    fail "request $i through haproxy and rsock-proxy: $out"
  [ "$(head -1 <<<"$out")" = hello ] || fail "request $i: the answer was '$out'"
  client=$(tail -1 <<<"$out")
  wait_for "$WORK/proxy.log" "^rsock-proxy: $client " >/dev/null
done
pass "rsock-proxy logged curl's own address ($client) from haproxy's v2 header"
checks=$((checks + 1))

# 2. haproxy's checks (every 0.2 s): a header of their own, then GET /
#    through rsock-proxy to the web server; they pass only if the header
#    was taken.
wait_for "$WORK/front.log" 'server rsock/rp succeeded.*Layer7 check passed' >/dev/null
grep -q 'bad PROXY header' "$WORK/proxy.log" &&
  fail "a header from haproxy was refused: $(grep 'bad PROXY header' "$WORK/proxy.log" | head -3)"
grep -qE 'rsock/rp (failed|is DOWN)' "$WORK/front.log" && fail "haproxy's check failed: $(tail -3 "$WORK/front.log")"
pass "haproxy's HTTP health checks with their own headers passed through rsock-proxy"
checks=$((checks + 1))

# 3. No header: curl straight to rsock-proxy is closed, with a log line.
timeout 10 curl -s -o /dev/null "http://$PROXY_ADDR/" && fail "a client without a header was served"
wait_for "$WORK/proxy.log" 'bad PROXY header: .*not a PROXY protocol header' >/dev/null
# Too slow: a client that sends nothing is closed at --proxy-timeout.
exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$PROXY_ADDR")"
timeout 5 cat <&3 >/dev/null || fail "a silent client was not closed within 5 s"
exec 3<&-
wait_for "$WORK/proxy.log" 'bad PROXY header: no complete PROXY header before the time limit' >/dev/null
out=$(timeout 10 curl -sS --fail "http://127.0.0.1:$front/") || fail "served no more after the refusals"
[ "$out" = hello ] || fail "after the refusals the answer was '$out'"
alive "$PROXY_PID" || fail "the proxy died"
pass "a client without a header and a silent one were closed with a log line; the next was served"
checks=$((checks + 1))
echo "$checks passed, 0 failed"
