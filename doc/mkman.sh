#!/usr/bin/env bash
# Make man pages from the Markdown pages under doc/: the single source.
# A page becomes a man page when its first line is "title: ..." and it has a
# "section: N" line; its file name (doc/NAME.md) names the page, and every
# other name on its NAME line gets a one-line ".so" link to it.
# `make man` runs it into doc/man/, which is committed (so installing needs
# no lowdown); tests/test_man.sh runs it into a temporary directory and
# fails when doc/man/ differs.
# usage: mkman.sh DOC_DIR OUT_DIR
set -euo pipefail
doc=$1 out=$2
command -v lowdown >/dev/null || { echo "mkman: lowdown is needed (apt-get install lowdown)" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
for page in "$doc"/*.md; do
  head -n1 "$page" | grep -q '^title:' || continue
  section=$(sed -n 's/^section:[[:space:]]*\([0-9]\).*/\1/p' "$page" | head -n1)
  [ -n "$section" ] || { echo "mkman: $page has no section line" >&2; exit 1; }
  name=$(basename "$page" .md)
  mkdir -p "$out/man$section"
  lowdown -s -Tman --parse-no-intraemph "$page" > "$out/man$section/$name.$section"
  # The NAME line: the first non-blank line after "# NAME".
  names=$(awk '/^# NAME/{f=1;next} f&&NF{print;exit}' "$page" | sed 's/ - .*//; s/,/ /g')
  for alias in $names; do
    [ "$alias" = "$name" ] && continue
    echo ".so man$section/$name.$section" > "$out/man$section/$alias.$section"
  done
done
