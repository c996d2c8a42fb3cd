#!/usr/bin/env bash
# haproxy as /work/shared/bench/proxy-compare.sh configures it (mode tcp,
# stock: no splice), started as a proxy command, so that
# bench/proxy_cpu_ab.sh can set rsock-proxy against it:
#   bench/proxy_cpu_ab.sh 'bench/proxy_haproxy.sh {LISTEN} {TARGET}' 'build/tools/rsock-proxy {LISTEN} {TARGET}'
# usage: bench/proxy_haproxy.sh LISTEN TARGET [-q]   (-q, which proxy_cpu_ab.sh adds, is ignored)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LISTEN TARGET" >&2; exit 2; }
command -v haproxy >/dev/null || { echo "$0: haproxy is not installed" >&2; exit 1; }
# The configuration comes on standard input: no file is left behind.
exec haproxy -db -f /dev/stdin < <(printf 'global\n    maxconn 4096\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\nlisten p\n    bind %s\n    server s1 %s\n' "$1" "$2")
