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
echo "$out"
if command -v go >/dev/null; then
  # Against Go in alternated pairs (one run of each, 7 times; the ratio is
  # the median of the pairs'), so a change of load lands on both.
  (cd bench/go && GOCACHE="$prefix/gocache" go build -o "$prefix/gochan" chan.go)
  pairs="$prefix/pairs"
  for _ in 1 2 3 4 5 6 7; do
    a=$(LD_LIBRARY_PATH=$libdir timeout 60 "$prefix/bench_chan" once | awk '{print $2}')
    b=$(GOMAXPROCS=2 timeout 60 "$prefix/gochan" once | awk '{print $2}')
    echo "$a $b" | awk '{print $1, $2, $1 / $2}'
  done >"$pairs"
  mid() { sort -g | sed -n 4p; } # the 4th of 7
  a=$(cut -d' ' -f1 "$pairs" | mid) b=$(cut -d' ' -f2 "$pairs" | mid) r=$(cut -d' ' -f3 "$pairs" | mid)
  lo=$(cut -d' ' -f3 "$pairs" | sort -g | sed -n 1p) hi=$(cut -d' ' -f3 "$pairs" | sort -g | sed -n 7p)
  awk -v a="$a" -v b="$b" -v r="$r" -v lo="$lo" -v hi="$hi" 'BEGIN {
    printf "%-34s %10.2f %-6s | %-28s %10.2f %-6s | ratio %6.3f | target >= 1x: %s\n",
      "chan: 2 threads, cap 1024", a / 1e6, "M/s", "Go chan, 2 goroutines", b / 1e6, "M/s",
      r, (r >= 1) ? "PASS" : "MISS"
    printf "  7 pairs alternated: ratios %.2f-%.2f\n", lo, hi }'
  ping=$(echo "$out" | awk '/^chan: ping-pong hand-off .*rsock_yield/ {print $4}')
  for procs in 1 2; do
    go_ns=$(GOMAXPROCS=$procs timeout 300 "$prefix/gochan" pingpong | awk '{print $2}')
    awk -v a="$ping" -v b="$go_ns" -v p="$procs" 'BEGIN {
      printf "%-34s %10.1f %-6s | %-28s %10.1f %-6s | ratio %6.3f | (for scale)\n",
        "chan: ping-pong hand-off", a, "ns", "Go, unbuffered, GOMAXPROCS=" p, b, "ns", a / b }'
  done
else
  echo "go not installed (apt-get install golang-go): the Go rows are skipped"
fi
