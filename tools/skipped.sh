#!/usr/bin/env bash
# After `make test`: list the tests ctest skipped (exit status 77: this machine
# cannot run them) with the reasons they printed, so a skip never reads as a
# pass.  Under CI (where everything is installed and we are root) a skip is a
# failure: exit 1.
# usage: skipped.sh BUILD_DIR   (reads ctest-junit.xml and Testing/Temporary/LastTest.log)
set -euo pipefail
build=${1:-build}
junit=$build/ctest-junit.xml log=$build/Testing/Temporary/LastTest.log
[ -f "$junit" ] && [ -f "$log" ] || { echo "skipped.sh: no ctest results in $build"; exit 0; }

skipped=$(grep -o '<testcase name="[^"]*"[^>]*status="notrun"' "$junit" | sed 's/<testcase name="\([^"]*\)".*/\1/' || true)
if [ -z "$skipped" ]; then
  echo "Skipped: none (every test ran)"
  exit 0
fi
echo "Skipped: $(wc -w <<<"$skipped") test(s) did not run everything; what was skipped and why:"
for name in $skipped; do
  # The test's output in LastTest.log: from "N/M Testing: NAME" to "<end of output>".
  reasons=$(awk -v t="$name" '$2 == "Testing:" && $3 == t {f=1; next}
                              f && /^<end of output>/ {exit}
                              f && /^(SKIP|BLOCKED)/' "$log")
  echo "  $name:"
  sed 's/^/    /' <<<"${reasons:-(no SKIP line printed)}"
done
if [ -n "${CI:-}" ]; then
  echo "CI is set: every test must run here; a skip is a failure"
  exit 1
fi
