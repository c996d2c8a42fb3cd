#!/usr/bin/env bash
# curl downloads a 64 MiB file from a local nginx through rsock-proxy: the
# bytes must be the file's bytes.
source "$(dirname "$0")/lib/proxy.sh"
need nginx curl sha256sum
port=$(free_port)
mkdir -p "$WORK/www"
head -c $((64 << 20)) /dev/urandom >"$WORK/www/big.bin"
start_nginx "http://127.0.0.1:$port/" <<CONF
  access_log off;
  server { listen 127.0.0.1:$port; root $WORK/www; }
CONF
start_proxy "127.0.0.1:$port"
timeout 60 curl -sS --fail -o "$WORK/got.bin" "http://$PROXY_ADDR/big.bin" || fail "curl through the proxy"
[ "$(sha256sum <"$WORK/got.bin")" = "$(sha256sum <"$WORK/www/big.bin")" ] || fail "the file changed on the way"
alive "$PROXY_PID" || fail "the proxy died"
pass "curl: 64 MiB from nginx through rsock-proxy, sha256 equal"
echo "1 passed, 0 failed"
