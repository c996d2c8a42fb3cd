#!/usr/bin/env bash
# rsock-proxy's /metrics read by Prometheus' own tools (issue 14, item 7):
# the real proxy relays curl's requests to a pool of a loopback nginx and a
# backend that refuses, and serves --metrics; `promtool check metrics` accepts its exposition, and a real
# prometheus server on loopback scraping it for a few seconds reports the
# target up, with the proxy's counts stored.  A second target,
# tests/test_proxy_metrics --serve (the metrics module with sample traffic
# and odd listener names), shows escaped labels read back as meant.
source "$(dirname "$0")/lib/proxy.sh"
need promtool prometheus curl jq nginx

# query EXPR: the prometheus API's answer (JSON), or nothing while it starts.
query() { curl -sS --max-time 2 -G "$API/query" --data-urlencode "query=$1" 2>/dev/null || true; }
# value EXPR: the first sample's value of the answer, or "".
value() { query "$1" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true; }
# scrape NAME ADDR: GET /metrics into $WORK/NAME.txt; promtool must accept it.
scrape() {
  curl -sS --fail -D "$WORK/$1.head" -o "$WORK/$1.txt" "http://$2/metrics" || fail "curl http://$2/metrics"
  grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/$1.head" ||
    fail "content type: $(cat "$WORK/$1.head")"
  promtool check metrics <"$WORK/$1.txt" >"$WORK/promtool.log" 2>&1 ||
    fail "promtool check metrics ($1): $(cat "$WORK/promtool.log")"
}

# nginx on loopback, and the proxy in front of it with --metrics.
web=$(free_port)
mkdir -p "$WORK/www" "$WORK/nginx"
head -c 100000 /dev/urandom >"$WORK/www/file.bin"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
user root;
error_log $WORK/nginx/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$web; root $WORK/www; }
}
CONF
start nginx nginx -c "$WORK/nginx.conf" -p "$WORK/nginx"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$web/" && break; sleep 0.05; done
dead=$(free_port) # a backend that refuses: marked down at its first failure (--fall 1)
start proxy "$PROXY" --metrics 127.0.0.1:0 --fall 1 --health-interval 0.5 127.0.0.1:0 \
  "127.0.0.1:$web" "127.0.0.1:$dead"
PROXY_PID=$LAST_PID
PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
maddr=$(wait_for "$WORK/proxy.log" 'metrics at http://' | sed -E 's|.*metrics at http://([^/]+)/metrics.*|\1|')

for i in 1 2 3 4 5; do
  curl -sS --fail -o "$WORK/got.bin" "http://$PROXY_ADDR/file.bin" || fail "curl $i through the proxy"
done
cmp -s "$WORK/got.bin" "$WORK/www/file.bin" || fail "the file changed on the way"
# Bytes are counted when a connection closes: wait (bounded) for the fifth,
# and for the dead backend's state.
series="{listener=\"127.0.0.1:0\",backend=\"127.0.0.1:$web\"}"
dead_up="rsock_proxy_backend_up{listener=\"127.0.0.1:0\",backend=\"127.0.0.1:$dead\"}"
for _ in $(seq 100); do
  scrape proxy "$maddr"
  grep -qxF "rsock_proxy_connections_open$series 0" "$WORK/proxy.txt" &&
    grep -qxF "$dead_up 0" "$WORK/proxy.txt" && break
  sleep 0.1
done
grep -qxF "rsock_proxy_backend_up$series 1" "$WORK/proxy.txt" &&
  grep -qxF "$dead_up 0" "$WORK/proxy.txt" || fail "backend_up: $(grep backend_up "$WORK/proxy.txt")"
grep -qxF "rsock_proxy_connections_total$series 5" "$WORK/proxy.txt" ||
  fail "connections_total: $(grep connections_total "$WORK/proxy.txt")"
grep -qxF "rsock_proxy_connections_open$series 0" "$WORK/proxy.txt" ||
  fail "connections_open: $(grep connections_open "$WORK/proxy.txt")"
down=$(grep -F "rsock_proxy_bytes_total{listener=\"127.0.0.1:0\",backend=\"127.0.0.1:$web\",direction=\"down\"}" \
  "$WORK/proxy.txt" | cut -d' ' -f2)
[ "${down:-0}" -gt 500000 ] || fail "bytes down: $down, want over 5 x 100000"
pass "rsock-proxy --metrics: 5 connections, 0 open, $down bytes down, the dead backend down; promtool: no problem"

# The metrics module alone, with odd names.
start sample "$BUILD/tests/test_proxy_metrics" --serve 120
saddr=$(wait_for "$WORK/sample.log" '^serving ' | sed 's/^serving //')
scrape sample "$saddr"
pass "the sample's exposition: promtool check metrics: no problem"

# One prometheus server scraping both every 500 ms, its storage in $WORK.
port=$(free_port)
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: rsock-proxy
    static_configs:
      - targets: ['$maddr']
  - job_name: sample
    static_configs:
      - targets: ['$saddr']
YML
promtool check config "$WORK/prometheus.yml" >"$WORK/promtool.log" 2>&1 ||
  fail "promtool check config: $(cat "$WORK/promtool.log")"
start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address="127.0.0.1:$port" --log.level=warn
PROM_PID=$LAST_PID
API=http://127.0.0.1:$port/api/v1
up=""
for _ in $(seq 150); do # bounded: 30 s
  alive "$PROM_PID" || fail "prometheus exited"
  up=$(value 'sum(up)')
  [ "$up" = 2 ] && break
  sleep 0.2
done
[ "$up" = 2 ] || fail "prometheus did not scrape both targets (sum(up) = $up): $(curl -s "$API/targets")"
health=$(curl -sS "$API/targets" | jq -r '.data.activeTargets[] | "\(.labels.job) \(.health) \(.lastError)"' | sort)
[ "$health" = $'rsock-proxy up \nsample up ' ] || fail "targets: $health"
pass "prometheus scraped both endpoints: up, no scrape error"

total=$(value "rsock_proxy_connections_total{job=\"rsock-proxy\",backend=\"127.0.0.1:$web\"}")
[ "$total" = 5 ] || fail "prometheus holds connections_total $total for the proxy, want 5"
odd=$(query 'rsock_proxy_connections_open{backend="/run/app.sock"}' | jq -r '.data.result[0].metric.listener')
[ "$odd" = $'odd "name" \\ with\nnewline \xef\xbf\xbd' ] || fail "the odd listener name came back as: $odd"
status=$(query 'histogram_quantile(0.5, sum by (le) (rate(rsock_proxy_connect_seconds_bucket[1m])))' |
  jq -r '.status')
[ "$status" = success ] || fail "histogram_quantile over connect_seconds: $status"
pass "prometheus stored the proxy's 5 connections and the odd name as written"

alive "$PROXY_PID" || fail "the proxy died"
echo "4 passed, 0 failed"
