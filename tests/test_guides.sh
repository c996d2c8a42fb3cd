#!/usr/bin/env bash
# Every complete program in a guide (a ```c block of doc/guide-*.md with a
# main) compiles against the library without a warning and runs to exit 0:
# the guides' code is the library's real API, not pseudo-code.
set -uo pipefail
src=${RSOCK_SOURCE:-.} build=${RSOCK_BUILD:-build}
# The build's own compiler and sanitizer (an ASan librsock.a needs its runtime).
cache=$build/CMakeCache.txt
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache" 2>/dev/null); cc=${cc:-cc}
san=()
grep -q '^RSOCK_SANITIZE:BOOL=ON' "$cache" 2>/dev/null && san=(-fsanitize=address,undefined)
grep -q '^RSOCK_TSAN:BOOL=ON' "$cache" 2>/dev/null && san=(-fsanitize=thread)
failed=0 passed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for guide in "$src"/doc/guide-*.md; do
  # Split the guide's ```c blocks into numbered files.
  awk -v out="$work/$(basename "$guide" .md)" '/^```c$/{n++; f=1; next} /^```$/{f=0} f{print > (out "-" n ".c")}' "$guide"
done
for prog in "$work"/*.c; do
  [ -e "$prog" ] || continue
  grep -q '^int main' "$prog" || continue
  name=$(basename "$prog" .c)
  if ! "$cc" "${san[@]}" -Wall -Wextra -Werror -I"$src/include" "$prog" "$build/librsock.a" -pthread \
       -o "$work/$name" 2>"$work/$name.log"; then
    fail "$name does not compile: $(head -5 "$work/$name.log")"; continue
  fi
  if out=$(timeout 20 "$work/$name" 2>&1); then echo "ok: $name: $(head -n1 <<<"$out")"; passed=$((passed + 1))
  else fail "$name exited $?: $out"; fi
done
[ "$passed" -gt 0 ] || fail "no guide program found"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
