#!/usr/bin/env bash
# The ABI against the last release's, kept in abi/librsock.abi (abidw's XML of
# the public types and functions).  Builds librsock.so with debug information
# (the types come from DWARF), compares with abidiff: functions added are
# listed and pass; anything removed or changed incompatibly fails (then bump
# RSOCK_SOVERSION, see CHANGELOG.md) once that release is tagged: abi/VERSION
# names it, and until tag v<VERSION> exists the ABI is a candidate still
# being made, so a break is reported but does not fail.  `--update` rewrites
# abi/librsock.abi and abi/VERSION (once per release, from its state).
# usage: abi-check.sh [--update]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v abidw >/dev/null || apt-get install -y -qq --no-install-recommends abigail-tools >/dev/null
build=${ABI_BUILD:-build-abi}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target rsock_shared >/dev/null
lib=$(ls "$build"/librsock.so.*.* | head -n1)
dump() { abidw --headers-dir include --drop-private-types --no-corpus-path --no-comp-dir-path \
           --no-show-locs --no-parameter-names "$lib"; }
if [ "${1:-}" = --update ]; then
  dump >abi/librsock.abi
  sed -n 's/^project(rsock VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt >abi/VERSION
  echo "abi/librsock.abi: $(grep -c '<elf-symbol .*type=.func-type' abi/librsock.abi) functions, from $(git describe --always --dirty 2>/dev/null || echo "a tree outside git")"
  exit 0
fi
rc=0
report=$(abidiff --headers-dir2 include --drop-private-types abi/librsock.abi "$lib") || rc=$?
if [ $((rc & 3)) != 0 ]; then echo "$report"; echo "abidiff failed (status $rc)"; exit 1; fi
release=$(cat abi/VERSION)
if [ $((rc & 8)) != 0 ]; then
  echo "$report"
  if ! git rev-parse -q --verify "refs/tags/v$release" >/dev/null; then
    echo "ABI CHANGE against abi/librsock.abi, the ABI of $release, which is not tagged yet (no tag v$release):"
    echo "not a failure until it is released; refresh the file with bash .ci/abi-check.sh --update"
    exit 0
  fi
  echo "ABI BREAK against abi/librsock.abi (release $release): bump RSOCK_SOVERSION in CMakeLists.txt and the package name (debian/), see CHANGELOG.md"
  exit 1
fi
if [ $((rc & 4)) != 0 ]; then echo "$report"; echo "ABI: compatible changes only (additions) against abi/librsock.abi"
else echo "ABI: same as abi/librsock.abi"; fi
