#!/usr/bin/env bash
# rsock-proxy's /metrics read by Prometheus' own tools (issue 14, item 7):
# `promtool check metrics` accepts the exposition, and a real prometheus
# server on loopback scraping it for a few seconds reports the target up,
# with the samples stored and an escaped label read back as it was meant.
# The endpoint: tests/test_proxy_metrics --serve (the metrics module with
# sample traffic, odd names included).
source "$(dirname "$0")/lib/proxy.sh"
need promtool prometheus curl jq

# The endpoint, and one scrape of it by hand.
start metrics "$BUILD/tests/test_proxy_metrics" --serve 120
METRICS_PID=$LAST_PID
addr=$(wait_for "$WORK/metrics.log" '^serving ' | sed 's/^serving //')
curl -sS --fail -D "$WORK/head.txt" -o "$WORK/metrics.txt" "http://$addr/metrics" ||
  fail "curl http://$addr/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/head.txt" || fail "content type: $(cat "$WORK/head.txt")"
grep -q '^rsock_proxy_connections_total{' "$WORK/metrics.txt" || fail "no connections_total in the exposition"
pass "GET /metrics: 200, text/plain version 0.0.4, $(grep -c '^[a-z]' "$WORK/metrics.txt") samples"

promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.log" 2>&1 ||
  fail "promtool check metrics: $(cat "$WORK/promtool.log")"
pass "promtool check metrics: no problem found"

# A prometheus server scraping it every 500 ms, its storage in $WORK.
port=$(free_port)
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: rsock-proxy
    static_configs:
      - targets: ['$addr']
YML
promtool check config "$WORK/prometheus.yml" >"$WORK/promtool-config.log" 2>&1 ||
  fail "promtool check config: $(cat "$WORK/promtool-config.log")"
start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address="127.0.0.1:$port" --log.level=warn
api=http://127.0.0.1:$port/api/v1

# query EXPR: the API's answer (JSON), or nothing while the server starts.
query() { curl -sS --max-time 2 -G "$api/query" --data-urlencode "query=$1" 2>/dev/null || true; }

# Wait (bounded) for a scrape that succeeded: up == 1 for our target.
up=""
for _ in $(seq 150); do
  alive "$LAST_PID" || fail "prometheus exited"
  up=$(query 'up{job="rsock-proxy"}' | jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true)
  [ "$up" = 1 ] && break
  sleep 0.2
done
[ "$up" = 1 ] || fail "prometheus never scraped the endpoint successfully (up=$up): $(curl -s "$api/targets")"
health=$(curl -sS "$api/targets" | jq -r '.data.activeTargets[] | select(.labels.job == "rsock-proxy") | "\(.health) \(.lastError)"')
[ "$health" = "up " ] || fail "target health: $health"
pass "prometheus scraped http://$addr/metrics: up == 1, health up, no scrape error"

# What it stored: every pair's series, and the odd name read back unescaped.
series=$(query 'count(rsock_proxy_connections_total)' | jq -r '.data.result[0].value[1]')
[ "$series" = "$(grep -c '^rsock_proxy_connections_total{' "$WORK/metrics.txt")" ] ||
  fail "prometheus holds $series connections_total series"
total=$(query 'sum(rsock_proxy_connections_total{listener="web"})' | jq -r '.data.result[0].value[1]')
[ "$total" = 60 ] || fail "sum of web's connections_total: $total, want 60"
odd=$(query 'rsock_proxy_connections_open{backend="/run/app.sock"}' | jq -r '.data.result[0].metric.listener')
[ "$odd" = $'odd "name" \\ with\nnewline \xef\xbf\xbd' ] || fail "the odd listener name came back as: $odd"
buckets=$(query 'histogram_quantile(0.5, sum by (le) (rate(rsock_proxy_connect_seconds_bucket[1m])))' |
  jq -r '.status')
[ "$buckets" = success ] || fail "histogram_quantile over connect_seconds: $buckets"
pass "prometheus stored $series pairs, web's 60 connections, the escaped name as written"

alive "$METRICS_PID" || fail "the endpoint died"
echo "4 passed, 0 failed"
