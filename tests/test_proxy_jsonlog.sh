#!/usr/bin/env bash
# rsock-proxy --log-format json (issue 14, item 6): every line is one JSON
# object; a connection's close line has its fields (time, listener, client,
# backend, duration, bytes each way, both rtts, how it ended); a client's
# own bytes (a Unix name with a quote, a backslash, a newline) stay inside
# their string; events (a backend down) are objects too.
source "$(dirname "$0")/lib/proxy.sh"
need jq socat
start_echo 127.0.0.1:0
checks=0

# 1. A TCP client: the close object and its fields.
start proxy "$PROXY" -v --log-format json 127.0.0.1:0 "$ECHO_ADDR"
PROXY_PID=$LAST_PID
addr=$(wait_for "$WORK/proxy.log" '"relaying ' | jq -r .message | sed -E 's/^relaying ([^ ]+) .*/\1/')
[ "$(printf 'hello\n' | timeout 5 socat -t 2 - "TCP:$addr")" = hello ] || fail "no echo through the proxy"
line=$(wait_for "$WORK/proxy.log" '"event":"close"')
jq -e --arg b "$ECHO_ADDR" '.event == "close" and .listener == "127.0.0.1:0" and .backend == $b
  and (.client | startswith("127.0.0.1:")) and .bytes_up == 6 and .bytes_down == 6
  and .end == "eof" and .rtt_client_us >= 0 and .rtt_server_us >= 0 and .duration_ms >= 0
  and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))' <<<"$line" >/dev/null ||
  fail "close object: $line"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
while IFS= read -r l; do jq -e . <<<"$l" >/dev/null 2>&1 || fail "not a JSON object: $l"; done <"$WORK/proxy.log"
pass "json: the close line has every field: $line"; checks=$((checks + 1))

# 2. A Unix client named with a quote, a backslash and a newline: escaped,
#    still one object, and the name reads back as the proxy escapes text.
: >"$WORK/proxy.log"
sock=$WORK/p.sock
start proxy "$PROXY" -v --log-format json "$sock" "$ECHO_ADDR"
PROXY_PID=$LAST_PID
wait_for "$WORK/proxy.log" '"relaying ' >/dev/null
timeout 10 "$PEER" unixname "$sock" 'q"b\\s\nforged' || fail "the named Unix client was not served"
line=$(wait_for "$WORK/proxy.log" '"event":"close"')
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
[ "$(wc -l <"$WORK/proxy.log")" -ge 2 ] || fail "log: $(cat "$WORK/proxy.log")"
while IFS= read -r l; do jq -e . <<<"$l" >/dev/null 2>&1 || fail "not a JSON object: $l"; done <"$WORK/proxy.log"
client=$(jq -r .client <<<"$line")
# rsock_addr_format writes the newline as \x0a and each backslash as two;
# the JSON string carries that text whole (quote and backslashes included).
case $client in '@q"b\\'*'s\x0aforged') ;; *) fail "client name read back as \"$client\" from $line" ;; esac
pass "json: a Unix client's quote, backslash and newline stay in their string: $client"; checks=$((checks + 1))

# 3. An event: a backend of a pool of two goes down.
: >"$WORK/proxy.log"
dead=$(free_port)
start proxy "$PROXY" --log-format json --health-interval 0.2 --fall 1 127.0.0.1:0 "$ECHO_ADDR" "127.0.0.1:$dead"
PROXY_PID=$LAST_PID
line=$(wait_for "$WORK/proxy.log" '"event":"backend"')
jq -e --arg d "127.0.0.1:$dead" '.event == "backend" and (.message | contains("backend " + $d + " is down"))' \
  <<<"$line" >/dev/null || fail "backend event: $line"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "json: a backend going down is an event object: $line"; checks=$((checks + 1))
echo "$checks passed, 0 failed"
