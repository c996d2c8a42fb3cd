# Shared by the proxy tests (sourced, not run).  Everything listens on
# 127.0.0.1; everything started is killed by PID on exit; waits are bounded.
set -euo pipefail
BUILD=${RSOCK_BUILD:-build}
PROXY=$BUILD/tools/rsock-proxy ECHO=$BUILD/tools/rsock-echo PUSH=$BUILD/tools/rsock-push
PEER=$BUILD/tests/fault_peer
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -5 "$f"; }; done >&2; exit 1; }
pass() { echo "ok: $*"; }

# need CMD...: the real peers CI installs; without them, fail under CI and
# elsewhere say SKIP and exit 77 (ctest reports the test as skipped).
need() {
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null && continue
    [ -n "${CI:-}" ] && fail "$cmd is not installed (.ci/run installs it)"
    echo "SKIP: $cmd is not installed"; exit 77   # ctest: skipped
  done
}

# start NAME CMD...: run CMD in the background, output to $WORK/NAME.log.
start() { local name=$1; shift; "$@" >"$WORK/$name.log" 2>&1 & PIDS+=($!); LAST_PID=$!; }

# wait_for FILE REGEX [SECONDS]: print the first line of FILE matching REGEX.
wait_for() {
  local file=$1 re=$2 until=$((SECONDS + ${3:-10}))
  while [ $SECONDS -lt "$until" ]; do
    grep -Em1 -- "$re" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "nothing in $(basename "$file") matched /$re/ within ${3:-10} s"
}

# start_echo ADDRESS: an rsock-echo server; sets ECHO_ADDR (the real port).
start_echo() {
  start echo "$ECHO" -q "$1"
  ECHO_ADDR=$(wait_for "$WORK/echo.log" '^listening on ' | sed 's/^listening on //')
}

# start_proxy [OPTIONS...] REMOTE: rsock-proxy on 127.0.0.1:0; sets PROXY_ADDR, PROXY_PID.
start_proxy() {
  local args=("$@") remote=${*: -1}
  start proxy "$PROXY" "${args[@]:0:${#args[@]}-1}" 127.0.0.1:0 "$remote"
  PROXY_PID=$LAST_PID
  PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
}

# A port nothing listens on right now (picked by the kernel, then released).
free_port() {
  local p; start port "$PEER" answer 0
  p=$(wait_for "$WORK/port.log" '^listening ' | cut -d' ' -f2)
  kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
  echo "$p"
}

port_of() { echo "${1##*:}"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }    # kib PID VmHWM
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }                 # utime + stime
alive() { kill -0 "$1" 2>/dev/null; }

# ---- real peers: haproxy and nginx (the tests of the PROXY protocol) ----

# wait_http URL [CURL-OPTIONS...]: until URL answers curl (any HTTP answer),
# polling every 50 ms, 100 times at most; a server still not up then shows
# in the test's first request.
wait_http() {
  local url=$1; shift
  for _ in $(seq 100); do curl -s "$@" -o /dev/null "$url" && return 0; sleep 0.05; done
  return 0
}

# haproxy_head MODE [log] [DEFAULTS-LINE...]: a config's global and defaults
# sections: 64 connections, 5 s to connect, 10 s idle; with `log`, every
# line to standard output ($WORK/NAME.log under start_haproxy).
haproxy_head() {
  local mode=$1 log=; shift
  [ "${1:-}" = log ] && { log=1; shift; }
  printf 'global\n  maxconn 64\n'
  [ -z "$log" ] || printf '  log stdout format raw local0 info\n'
  printf 'defaults\n  mode %s\n' "$mode"
  [ -z "$log" ] || printf '  log global\n'
  local line
  for line in "$@"; do printf '  %s\n' "$line"; done
  printf '  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n'
}

# start_haproxy NAME URL [CURL-OPTIONS...] <CONFIG: haproxy in the
# foreground (-db) with CONFIG ($WORK/NAME.cfg; output in $WORK/NAME.log),
# once URL answers (wait_http).
start_haproxy() {
  local name=$1 url=$2; shift 2
  cat >"$WORK/$name.cfg"
  start "$name" haproxy -db -f "$WORK/$name.cfg"
  wait_http "$url" "$@"
}

# start_nginx URL [CURL-OPTIONS...] <HTTP: nginx in the foreground, one
# worker, as root, its files under $WORK/nginx (error.log at level info,
# the pid, the temporary files), with HTTP inside its http { } block
# ($WORK/nginx.conf); once URL answers (wait_http).
start_nginx() {
  local url=$1; shift
  mkdir -p "$WORK/nginx"
  {
    cat <<CONF
daemon off;
worker_processes 1;
user root;
error_log $WORK/nginx/error.log info;
pid $WORK/nginx/nginx.pid;
events { worker_connections 64; }
http {
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
CONF
    cat
    printf '}\n'
  } >"$WORK/nginx.conf"
  start nginx nginx -c "$WORK/nginx.conf" -p "$WORK/nginx"
  wait_http "$url" "$@"
}
