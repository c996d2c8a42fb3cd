#!/usr/bin/env bash
# Run the fiber benchmarks (issue: fibers and the loop) and print each figure
# beside its baseline from the same run.  usage: bench/run.sh [BUILD_DIR]
# Build first with a release build: make (or cmake -DCMAKE_BUILD_TYPE=Release).
set -euo pipefail
build=${1:-build}
bin=$build/bench
for b in bench_switch bench_spawn bench_pingpong bench_idle; do
  [ -x "$bin/$b" ] || { echo "run.sh: $bin/$b is missing: build first (make)" >&2; exit 1; }
done
echo "# $(date -u +%F) $(uname -m), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
timeout 120 "$bin/bench_switch"
timeout 120 "$bin/bench_spawn"
timeout 120 "$bin/bench_pingpong"
timeout 120 "$bin/bench_idle"
if command -v strace >/dev/null; then
  out=$(mktemp)
  timeout 60 strace -c -f -o "$out" "$bin/bench_pingpong" fibers >/dev/null
  awk '/ sendto$| recvfrom$| epoll_wait$| epoll_ctl$/ {calls[$NF]=$4} END {
         rt = calls["sendto"] / 2;
         printf "ping-pong syscalls per round trip (both fibers, strace -c): sendto %.2f recvfrom %.2f epoll_wait %.2f; epoll_ctl %d in all\n",
           calls["sendto"]/rt, calls["recvfrom"]/rt, calls["epoll_wait"]/rt, calls["epoll_ctl"] }' "$out"
  rm -f "$out"
else
  echo "strace not installed: syscall count skipped"
fi
