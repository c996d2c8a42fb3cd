#!/usr/bin/env bash
# rsock-proxy -v logs one line when a connection closes (issue 12, item 4):
# its duration, the bytes each way, each side's round-trip time from
# TCP_INFO, and how it ended.
source "$(dirname "$0")/lib/proxy.sh"
start_echo 127.0.0.1:0
start_proxy -v "$ECHO_ADDR"
exec 7<>"/dev/tcp/127.0.0.1/$(port_of "$PROXY_ADDR")"
printf 'hello\n' >&7
read -r -t 10 reply <&7 || fail "no echo through the proxy"
[ "$reply" = hello ] || fail "echo: \"$reply\""
exec 7>&- 7<&-
line=$(wait_for "$WORK/proxy.log" ' closed after ')
grep -qE ' closed after [0-9]+\.[0-9]{3} s: 6 bytes up, 6 down, rtt client [0-9]+ us, server [0-9]+ us, ended by eof \(listener [^ ]+, backend 127\.0\.0\.1:[0-9]+\)$' <<<"$line" \
  || fail "close line: \"$line\""
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "-v: $line"
