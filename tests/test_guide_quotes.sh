#!/usr/bin/env bash
# A guide that quotes example programs names them on a line
#   <!-- quotes: examples/a.c examples/b.c -->
# and then each of its indented code blocks must be found, verbatim (less
# the four spaces of indentation), in one of those files: the code a reader
# sees is the code tests/test_examples.sh builds and runs.  A guide's quoted
# block that drifted from its example fails with the block's first line.
set -uo pipefail
src=${RSOCK_SOURCE:-.}
failed=0 passed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for guide in "$src"/doc/guide-*.md; do
  files=$(sed -n 's/^<!-- quotes: \(.*\) -->$/\1/p' "$guide")
  [ -n "$files" ] || continue
  name=$(basename "$guide")
  quoted=""
  for f in $files; do
    [ -f "$src/$f" ] || { fail "$name quotes $f, which does not exist"; continue; }
    quoted+=$(cat "$src/$f")$'\n'
  done
  # Indented code blocks (outside fences), dedented, one file each; blank
  # lines inside a block belong to it, trailing ones do not.
  rm -f "$work"/block-*
  awk -v out="$work/block-" '
    /^```/ { fence = !fence; next }
    fence { next }
    /^    / && (inblock || prev_blank) { if (!inblock) { n++; pending = "" } inblock = 1
                                         printf "%s%s\n", pending, substr($0, 5) > (out n); pending = ""; prev_blank = 0; next }
    /^$/ { prev_blank = 1; if (inblock) pending = pending "\n"; next }
    { inblock = 0; pending = ""; prev_blank = 0 }
  ' "$guide"
  blocks=0
  for block in "$work"/block-*; do
    [ -e "$block" ] || continue
    blocks=$((blocks + 1))
    text=$(cat "$block")
    if [[ "$quoted" == *"$text"* ]]; then passed=$((passed + 1))
    else fail "$name: a block is not in $files verbatim: $(head -n1 "$block")"; fi
  done
  [ "$blocks" -gt 0 ] || fail "$name says it quotes $files but has no indented code block"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
