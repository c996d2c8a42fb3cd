#!/usr/bin/env bash
# The documentation matches the code: every public function of rsock.h is
# named on the NAME line of a page under doc/ (so it gets a man page), every
# page with a man header has the sections a reference page needs, and the
# README's example is examples/readme-echo.c to the byte.
set -uo pipefail
src=${RSOCK_SOURCE:-.}
failed=0 passed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

names=$(for page in "$src"/doc/*.md; do
          head -n1 "$page" | grep -q '^title:' || continue
          awk '/^# NAME/{f=1;next} f&&NF{print;exit}' "$page" | sed 's/ - .*//; s/,/ /g'
        done | tr ' ' '\n' | sort -u)
for fn in $(grep -oE '\brsock_[a-z0-9_]+[[:space:]]*\(' "$src/include/rsock.h" | tr -d ' (' | sort -u); do
  grep -qx "$fn" <<<"$names" && passed=$((passed + 1)) || fail "$fn is on no doc page's NAME line"
done

for page in "$src"/doc/*.md; do
  head -n1 "$page" | grep -q '^title:' || continue
  for section in NAME SYNOPSIS DESCRIPTION; do
    grep -q "^# $section" "$page" || fail "$(basename "$page") has no $section section"
  done
  if grep -q '^section: 3' "$page"; then
    for section in "RETURN VALUE" ERRORS EXAMPLE; do
      grep -q "^# $section" "$page" || fail "$(basename "$page") has no $section section"
    done
  fi
done

readme_example=$(awk '/^```c$/{f=1;next} /^```$/{if(f)exit} f' "$src/README.md")
[ "$readme_example" = "$(cat "$src/examples/readme-echo.c")" ] && passed=$((passed + 1)) ||
  fail "README.md's example differs from examples/readme-echo.c"

if command -v lowdown >/dev/null; then
  out=$(mktemp -d)
  bash "$src/doc/mkman.sh" "$src/doc" "$out" && [ -s "$out/man3/rsock_socket.3" ] &&
    passed=$((passed + 1)) || fail "man pages were not generated"
  rm -rf "$out"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
