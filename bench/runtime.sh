#!/usr/bin/env bash
# The runtime's speed as users link it (issue 11, item 9): install rsock to
# a temporary prefix, build bench_switch.c and bench_chan.c against the
# installed shared library (pkg-config), and print each figure beside its
# baseline from the same run, then the cross-thread channel against Go's
# buffered channel (GOMAXPROCS=2) and the ping-pong against Go's unbuffered
# channel (GOMAXPROCS=1 and 2) when `go` is installed (Debian: golang-go).
# usage: bench/runtime.sh [BUILD_DIR]   (a release build: make)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d "${TMPDIR:-/tmp}/rsock-bench-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch 2>/dev/null)/pkgconfig"
flags=$(pkg-config --cflags --libs rsock)
for b in bench_switch bench_chan; do
  cc -O2 -D_GNU_SOURCE -Ibench "bench/$b.c" $flags -o "$prefix/$b"
done
libdir=$(pkg-config --variable=libdir rsock)
echo "# $(date -u +%F) $(uname -m), $(nproc) cores; linked to $(ldd "$prefix/bench_chan" | awk '/librsock/ {print $1}') (installed, shared)"
LD_LIBRARY_PATH=$libdir timeout 120 "$prefix/bench_switch"
out=$(LD_LIBRARY_PATH=$libdir timeout 300 "$prefix/bench_chan")
echo "$out" | grep -v '^chan-threads-msgs-per-s'
ours=$(echo "$out" | awk '/^chan-threads-msgs-per-s/ {print $2}')
if command -v go >/dev/null; then
  go_rate=$(cd bench/go && GOMAXPROCS=2 GOCACHE="$prefix/gocache" timeout 300 go run chan.go | awk '{print $2}')
  awk -v a="$ours" -v b="$go_rate" 'BEGIN {
    printf "%-34s %10.2f %-6s | %-28s %10.2f %-6s | ratio %6.3f | target >= 1x: %s\n",
      "chan: 2 threads, cap 1024", a / 1e6, "M/s", "Go chan, 2 goroutines", b / 1e6, "M/s",
      a / b, (a >= b) ? "PASS" : "MISS" }'
  ping=$(echo "$out" | awk '/^chan: ping-pong hand-off .*rsock_yield/ {print $4}')
  for procs in 1 2; do
    go_ns=$(cd bench/go && GOMAXPROCS=$procs GOCACHE="$prefix/gocache" timeout 300 go run chan.go pingpong | awk '{print $2}')
    awk -v a="$ping" -v b="$go_ns" -v p="$procs" 'BEGIN {
      printf "%-34s %10.1f %-6s | %-28s %10.1f %-6s | ratio %6.3f | (for scale)\n",
        "chan: ping-pong hand-off", a, "ns", "Go, unbuffered, GOMAXPROCS=" p, b, "ns", a / b }'
  done
else
  echo "go not installed (apt-get install golang-go): the Go rows are skipped"
fi
