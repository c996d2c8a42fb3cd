#!/usr/bin/env bash
# curl downloads a 64 MiB file from a local nginx through rsock-proxy: the
# bytes must be the file's bytes.
source "$(dirname "$0")/lib/proxy.sh"
need nginx curl sha256sum
port=$(free_port)
mkdir -p "$WORK/www" "$WORK/nginx"
head -c $((64 << 20)) /dev/urandom >"$WORK/www/big.bin"
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
  server { listen 127.0.0.1:$port; root $WORK/www; }
}
CONF
start nginx nginx -c "$WORK/nginx.conf" -p "$WORK/nginx"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
start_proxy "127.0.0.1:$port"
timeout 60 curl -sS --fail -o "$WORK/got.bin" "http://$PROXY_ADDR/big.bin" || fail "curl through the proxy"
[ "$(sha256sum <"$WORK/got.bin")" = "$(sha256sum <"$WORK/www/big.bin")" ] || fail "the file changed on the way"
alive "$PROXY_PID" || fail "the proxy died"
pass "curl: 64 MiB from nginx through rsock-proxy, sha256 equal"
echo "1 passed, 0 failed"
