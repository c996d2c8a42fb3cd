#!/usr/bin/env bash
# Run every fuzz target (one per fuzz/*.c, built in BUILD_DIR) for SECONDS
# each, one after the other.  Fails when any target crashes or cannot run;
# the reproducers are saved as ./fuzz-crash-* (see run.sh).
# usage: fuzz/run_all.sh BUILD_DIR SECONDS
set -uo pipefail
build=${1:?usage: run_all.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run_all.sh BUILD_DIR SECONDS}
dir=$(cd "$(dirname "$0")" && pwd)
failed=()
for src in "$dir"/*.c; do
  name=$(basename "$src" .c)
  printf '\n--- %s for %s s\n' "$name" "$seconds"
  bash "$dir/run.sh" "$build/$name" "$seconds" || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_all.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run_all.sh: every target ran ${seconds} s without a crash"
