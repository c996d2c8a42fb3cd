#!/usr/bin/env bash
# The committed man pages (doc/man/, installed by `make install` without
# lowdown) are what doc/mkman.sh makes from doc/*.md today: none stale, none
# left over, none missing.  A page missing its man page (a new doc page before
# `make man`) fails under CI and is a skip elsewhere; without lowdown the
# comparison is a skip with the reason (CI installs lowdown).
set -uo pipefail
src=${RSOCK_SOURCE:-.}
failed=0 passed=0 skipped=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
fix="run \`make man\` and commit doc/man"

# The man page of each entry page (first line "title:"), named by its file.
for page in "$src"/doc/*.md; do
  head -n1 "$page" | grep -q '^title:' || continue
  name=$(basename "$page" .md)
  section=$(sed -n 's/^section:[[:space:]]*\([0-9]\).*/\1/p' "$page" | head -n1)
  if [ -f "$src/doc/man/man$section/$name.$section" ]; then passed=$((passed + 1))
  elif [ -n "${CI:-}" ]; then fail "doc/$name.md has no doc/man/man$section/$name.$section: $fix"
  else skip "doc/$name.md has no man page yet (doc/man/man$section/$name.$section): $fix"; fi
done

if ! command -v lowdown >/dev/null; then
  if [ -n "${CI:-}" ]; then fail "lowdown is not installed (.ci/run installs it)"
  else skip "lowdown is not installed: doc/man not compared with doc/*.md (apt-get install lowdown)"; fi
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  if bash "$src/doc/mkman.sh" "$src/doc" "$out/man"; then
    # Differing: stale; only committed: left over; only fresh: a missing page
    # (counted above) or a missing link for a new name on a NAME line.
    while read -r line; do
      where=$(sed -E 's/^Only in ([^:]*): (.*)/\1\/\2/' <<<"$line")
      case $line in
        Files\ *) f=${line#Files "$out"/man/}; fail "doc/man/${f%% *} is stale: $fix" ;;
        Only\ in\ "$src"/*) fail "${where#"$src"/} has no doc page left: $fix" ;;
        Only\ in\ "$out"/*)
          f=${where#"$out"/man/}; base=$(basename "$f"); [ -f "$src/doc/${base%.*}.md" ] && continue
          if [ -n "${CI:-}" ]; then fail "doc/man/$f (a name on a NAME line) is missing: $fix"
          else skip "doc/man/$f (a name on a NAME line) is missing: $fix"; fi ;;
      esac
    done < <(diff -rq "$out/man" "$src/doc/man")
    [ "$failed" = 0 ] && passed=$((passed + 1))
  else
    fail "doc/mkman.sh failed"
  fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || exit 1
[ "$skipped" = 0 ] || exit 77
