#!/usr/bin/env bash
# iperf3 through rsock-proxy, both directions (-R): data must arrive.
source "$(dirname "$0")/lib/proxy.sh"
need iperf3 jq
port=$(free_port)
start iperf3 iperf3 -s -B 127.0.0.1 -p "$port"
for _ in $(seq 100); do grep -q "listening" "$WORK/iperf3.log" 2>/dev/null && break; sleep 0.05; done
start_proxy "127.0.0.1:$port"
for dir in "" "-R"; do
  timeout 30 iperf3 -c 127.0.0.1 -p "$(port_of "$PROXY_ADDR")" -t 2 $dir -J >"$WORK/client.json" ||
    fail "iperf3 $dir through the proxy"
  bytes=$(jq '.end.sum_received.bytes' "$WORK/client.json")
  [ "${bytes:-0}" -gt 0 ] || fail "iperf3 $dir: nothing received"
  gbit=$(jq '.end.sum_received.bits_per_second / 1e9' "$WORK/client.json")
  pass "iperf3 ${dir:-(client to server)} through rsock-proxy: $bytes bytes, $gbit Gbit/s"
done
echo "2 passed, 0 failed"
