#!/usr/bin/env bash
# The proxy's own CPU per short connection, two proxy commands alternated
# (A B A B ...): the ratio is measured in one run, so a loaded host moves
# both sides alike.  Short connections are where a per-connection cost
# shows (a pool pick, a log line, a metrics update).
#   bench/proxy_cpu_ab.sh [-n CONNS] [-r ROUNDS] 'CMD_A {LISTEN} {TARGET}' 'CMD_B {LISTEN} {TARGET}'
# {LISTEN} is replaced by 127.0.0.1:PORT, {TARGET} by the server's address
# (give {TARGET} three times for a pool of three).  Prints per round and
# the medians: µs of proxy CPU (utime+stime) per connection, conn/s, B/A.
set -euo pipefail
BUILD=${RSOCK_BUILD:-build}
PEER=$BUILD/tests/fault_peer
conns=30000 rounds=3
while getopts n:r: o; do case $o in n) conns=$OPTARG ;; r) rounds=$OPTARG ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
[ $# = 2 ] || { echo "usage: $0 [-n CONNS] [-r ROUNDS] CMD_A CMD_B" >&2; exit 2; }
WORK=$(mktemp -d); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
tick=$(getconf CLK_TCK)

"$PEER" oneshot 0 64 >"$WORK/server.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening' "$WORK/server.log" && break; sleep 0.05; done
target=127.0.0.1:$(awk '/^listening/ {print $2}' "$WORK/server.log")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure CMD: "us_per_conn conn_per_s"
measure() {
  local port; port=$(free_port)
  local cmd=${1//\{LISTEN\}/127.0.0.1:$port}; cmd=${cmd//\{TARGET\}/$target}
  $cmd -q >"$WORK/proxy.log" 2>&1 & local pid=$!; PIDS+=($pid)
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.02; done
  local before; before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  local t0; t0=$(date +%s%N)
  timeout 120 "$PEER" churn "$port" "$conns" 64 "$pid" >"$WORK/churn.log" 2>&1 || true
  local t1; t1=$(date +%s%N)
  local after; after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v c="$conns" -v d=$((after - before)) -v hz="$tick" -v ns=$((t1 - t0)) \
    'BEGIN {printf "%.1f %.0f\n", d * 1e6 / hz / c, c / (ns / 1e9)}'
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
: >"$WORK/a"; : >"$WORK/b"
for r in $(seq "$rounds"); do
  a=$(measure "$1"); b=$(measure "$2")
  echo "$a" >>"$WORK/a"; echo "$b" >>"$WORK/b"
  echo "round $r: A ${a% *} us/conn ${a#* } conn/s | B ${b% *} us/conn ${b#* } conn/s"
done
ua=$(cut -d' ' -f1 "$WORK/a" | median) ub=$(cut -d' ' -f1 "$WORK/b" | median)
ca=$(cut -d' ' -f2 "$WORK/a" | median) cb=$(cut -d' ' -f2 "$WORK/b" | median)
echo "median: A $ua us/conn $ca conn/s | B $ub us/conn $cb conn/s"
awk -v ua="$ua" -v ub="$ub" -v ca="$ca" -v cb="$cb" \
  'BEGIN {printf "ratio B/A: cpu per connection %.3f, conn/s %.3f\n", ub / ua, cb / ca}'
