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
