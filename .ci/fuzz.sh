#!/usr/bin/env bash
# CI: build every fuzz target (fuzz/*.c: clang, libFuzzer, ASan + UBSan) and
# run each for FUZZ_SECONDS (default 20 s: six targets take about two
# minutes, plus the build).  A crash fails the step; its reproducer is saved
# as ./fuzz-crash-* and printed below in hex, to be turned into a test.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
status=0
make fuzz FUZZ_BUILD=build-fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}" || status=$?
for crash in ./fuzz-*; do
  [ -e "$crash" ] || continue
  echo "reproducer $crash:"
  od -A d -t x1 "$crash" | sed -n 1,40p
done
exit "$status"
