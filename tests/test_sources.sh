#!/bin/bash
# CMakeLists.txt names every source (no glob decides what is built): each
# committed .c file under src/ tests/ examples/ bench/ tools/ fuzz/, and each
# tests/test_*.sh, must be in one of its lists, or it would silently not be
# built or run.  A new file fails here until it is listed.
set -u
src=${RSOCK_SOURCE:-.}
cd "$src" || exit 1
if ! command -v git >/dev/null || ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "SKIP: not a git checkout (the committed files are what is checked)"
    exit 77
fi
lists=$(cat CMakeLists.txt cmake/*.cmake 2>/dev/null)
failed=0 checked=0
while IFS= read -r f; do
    checked=$((checked + 1))
    if ! grep -Fwq -- "$f" <<<"$lists"; then
        echo "FAIL: $f is committed but CMakeLists.txt lists it nowhere (add it to its list)"
        failed=1
    fi
done < <(git ls-files -- 'src/*.c' 'tests/*.c' 'examples/*.c' 'bench/*.c' 'tools/*.c' \
    'fuzz/*.c' 'tests/test_*.sh')
# The check itself: a file that exists nowhere in the lists is caught.
if grep -Fwq -- "src/no_such_file.c" <<<"$lists"; then
    echo "FAIL: the list check matched a name that is not there"
    failed=1
fi
if [ "$checked" -lt 10 ]; then
    echo "FAIL: only $checked committed sources found: is this the source tree?"
    failed=1
fi
[ "$failed" = 0 ] && echo "all $checked committed sources are listed in CMakeLists.txt"
exit "$failed"
