#!/usr/bin/env bash
# rsock-proxy with --busy-poll 0 (the baseline), 50, 200 (the default) and
# 500, alternating in one run: ping-pong round trips/s and short
# connections/s, median of ROUNDS, and each one's ratio to 0.  Needs the
# shared bench helpers (shared/bench/setup.sh).
# usage: bench/proxy_busy_poll.sh [BUILD_DIR] [HELPERS_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build} helpers=${2:-/work/shared/bench/bin} rounds=${3:-3}
proxy=$build/tools/rsock-proxy
for b in "$proxy" "$helpers/echo" "$helpers/pingpong" "$helpers/connrate"; do
  [ -x "$b" ] || { echo "proxy_busy_poll.sh: $b is missing (make; shared/bench/setup.sh)" >&2; exit 1; }
done
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
timeout 600 "$helpers/echo" -q -t 600 127.0.0.1:5310 & pids+=($!)
timeout 600 "$helpers/echo" -q -n 64 -t 600 127.0.0.1:5311 & pids+=($!)
sleep 0.3

# one US TARGET CLIENT...: start the proxy, run the client, print its figure.
one() {
  local us=$1 target=$2; shift 2
  timeout 60 "$proxy" -q --busy-poll "$us" 127.0.0.1:5320 "$target" & local p=$!
  sleep 0.3
  "$@" 127.0.0.1:5320 | grep -oE '(rt|conns)_per_s=[0-9]+' | cut -d= -f2
  kill "$p"; wait "$p" 2>/dev/null || true
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

limits=(${LIMITS:-0 50 200 500})
declare -A got
for ((r = 1; r <= rounds; r++)); do
  for us in "${limits[@]}"; do
    got[pp$us]+="$(one "$us" 127.0.0.1:5310 "$helpers/pingpong" -k 1 -s 64 -d 3) "
    got[cr$us]+="$(one "$us" 127.0.0.1:5311 "$helpers/connrate" -c 64 -s 64 -d 3 -e) "
  done
done
for t in pp:ping-pong,rt/s cr:conn/s; do
  k=${t%%:*} name=${t#*:}
  base=$(tr ' ' '\n' <<<"${got[${k}0]}" | grep . | median)
  line=$(printf '%-16s 0: %6d' "$name" "$base")
  for us in "${limits[@]:1}"; do
    v=$(tr ' ' '\n' <<<"${got[$k$us]}" | grep . | median)
    line+=$(printf ' | %s: %6d (%.2fx)' "$us" "$v" "$(echo "$v $base" | awk '{print $1 / $2}')")
  done
  echo "$line"
done
