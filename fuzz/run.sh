#!/usr/bin/env bash
# Run a libFuzzer binary for a bounded time on a copy of its seeds,
# fuzz/seeds/<binary's name>/ (none: libFuzzer starts from nothing).
# usage: fuzz/run.sh BINARY SECONDS
# Exits non-zero when the fuzzer finds a crash (the reproducer is copied to
# fuzz-crash-* in the current directory) or fails to run.
set -euo pipefail
bin=${1:?usage: run.sh BINARY SECONDS}
seconds=${2:?usage: run.sh BINARY SECONDS}
seeds=$(cd "$(dirname "$0")" && pwd)/seeds/$(basename "$bin")
work=$(mktemp -d "${TMPDIR:-/tmp}/rsock-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
if [ -d "$seeds" ]; then cp "$seeds"/* "$work/corpus/"; fi
status=0
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=512 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" 2>&1 | tail -n 40 || status=$?
for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
  [ -e "$crash" ] || continue
  cp "$crash" "./fuzz-$(basename "$crash")"
  echo "run.sh: reproducer saved as ./fuzz-$(basename "$crash")" >&2
  status=1
done
[ "$status" -eq 0 ] && echo "run.sh: no crash in ${seconds} s"
exit "$status"
