#!/usr/bin/env bash
# make demo: an rsock echo server, rsock-proxy in front of it, and 256 MiB
# pushed through the proxy and checked on the way back.  Loopback only;
# everything started here is killed by PID on exit.
set -uo pipefail
BUILD=${1:?usage: demo.sh BUILD_DIR}
TOOLS=$BUILD/tools
BYTES=${DEMO_BYTES:-256M}
for t in rsock-echo rsock-proxy rsock-push; do
    [ -x "$TOOLS/$t" ] || { echo "demo: $TOOLS/$t is missing: build first (make)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/rsock-demo.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Wait (at most 5 s) for a line matching $2 in file $1; print that line.
wait_line() {
    for _ in $(seq 100); do
        if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1"; return 0; fi
        sleep 0.05
    done
    echo "demo: no \"$2\" in $1:" >&2; cat "$1" >&2; return 1
}

"$TOOLS/rsock-echo" 127.0.0.1:0 >"$work/echo.log" 2>&1 &
pids+=($!)
echo_addr=$(wait_line "$work/echo.log" "listening on" | awk '{print $3}') || exit 1

"$TOOLS/rsock-proxy" 127.0.0.1:0 "$echo_addr" 2>"$work/proxy.log" &
proxy=$!
pids+=($proxy)
proxy_line=$(wait_line "$work/proxy.log" "relaying") || exit 1
proxy_addr=$(echo "$proxy_line" | awk '{print $3}')

echo "echo server:  $echo_addr (tools/rsock-echo, pid ${pids[0]})"
echo "proxy:        $proxy_line"
echo "pushing $BYTES through $proxy_addr and checking every byte that comes back..."
"$TOOLS/rsock-push" -n "$BYTES" "$proxy_addr"
status=$?

kill -TERM "$proxy"
wait "$proxy"
pstatus=$?
pids=("${pids[0]}")
grep "exit:" "$work/proxy.log" || { echo "demo: no summary from the proxy" >&2; status=1; }
if [ "$pstatus" -ne 0 ]; then echo "demo: proxy exited with $pstatus" >&2; status=1; fi
[ "$status" -eq 0 ] && echo "demo: OK" || echo "demo: FAILED" >&2
exit "$status"
