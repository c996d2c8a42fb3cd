#!/usr/bin/env bash
# rsock-proxy's log lines.
# 1. Untrusted bytes are escaped: a Unix client bound to an abstract name
#    holding a newline and ESC cannot forge a line or reach the terminal;
#    both show as \xNN (issue 10, item 8).
# 2. Repeats are summarized: with REMOTE refusing, thousands of clients
#    make few lines, and the summary line counts the rest (issue 10, item 9).
source "$(dirname "$0")/lib/proxy.sh"
start_echo 127.0.0.1:0
checks=0

sock=$WORK/p.sock
start proxy "$PROXY" -v "$sock" "$ECHO_ADDR"
PROXY_PID=$LAST_PID
wait_for "$WORK/proxy.log" 'relaying ' >/dev/null
timeout 10 "$PEER" unixname "$sock" 'evil\nrsock-proxy: forged line\e[31mred' ||
  fail "the client with an abstract name was not served"
line=$(wait_for "$WORK/proxy.log" 'evil')
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
grep -q '^rsock-proxy: forged line' "$WORK/proxy.log" && fail "a client forged a log line: $(cat "$WORK/proxy.log")"
grep -q $'\e' "$WORK/proxy.log" && fail "an ESC byte reached the log"
grep -qF 'evil\x0arsock-proxy:' <<<"$line" && grep -qF 'line\x1b[31mred' <<<"$line" ||
  fail "not escaped: $line"
pass "a Unix client's name with a newline and ESC is logged escaped: $line"
checks=$((checks + 1))

# 2. REMOTE refuses every connection: 3000 clients.  The first few say
#    "cannot reach"; once the failures mark the backend down, the rest say
#    "no backend ... is up" at once (no connect tried).
dead=$(free_port)
: >"$WORK/proxy.log"
start_proxy "127.0.0.1:$dead"
start churn "$PEER" churn "$(port_of "$PROXY_ADDR")" 3000 16 "$PROXY_PID"
wait "$LAST_PID" 2>/dev/null || true   # each connection ends at once: refused upstream
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
lines=$(grep -cE 'cannot reach|no backend of' "$WORK/proxy.log" || true)
[ "$lines" -le 20 ] || fail "$lines lines for 3000 refused connections: not summarized"
summary=$(grep -E 'repeated [0-9]+ times in [0-9]+ s: .*(cannot reach|no backend of)' "$WORK/proxy.log" | head -1) ||
  fail "no summary of the repeats: $(tail -3 "$WORK/proxy.log")"
repeats=$(grep -oE 'repeated [0-9]+ times' "$WORK/proxy.log" | awk '{n += $2} END {print n + 0}')
printed=$(grep -cE '^rsock-proxy: 127.0.0.1:[0-9]*: (cannot reach|no backend of)' "$WORK/proxy.log" || true)
[ $((repeats + printed)) = 3000 ] ||
  fail "$printed lines printed + $repeats counted as repeats != 3000 refused connections"
pass "3000 refused connections: $lines log lines, the rest counted: $summary"
checks=$((checks + 1))

echo "$checks passed, 0 failed"
