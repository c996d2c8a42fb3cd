#!/usr/bin/env bash
# librsock.so exports the public API and nothing else (cmake/rsock.map): every
# defined dynamic symbol is rsock_<name> at version RSOCK_0.2, none is an
# internal rsock__<name>, every function rsock.h declares is exported, and
# debian/librsock0.symbols lists every exported symbol and no other.
set -uo pipefail
build=${RSOCK_BUILD:-build} src=${RSOCK_SOURCE:-.}
lib=$(ls "$build"/librsock.so.*.* 2>/dev/null | head -n1)
failed=0 passed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
[ -n "$lib" ] || { echo "FAIL: no $build/librsock.so.*"; exit 1; }
command -v objdump >/dev/null || { echo "SKIP: objdump (binutils) is not installed"; exit 77; }

# "NAME VERSION" for each defined dynamic symbol.
exported=$(objdump -T "$lib" | awk '$0 !~ /\*UND\*|\*ABS\*/ && NF >= 7 {print $NF, $(NF-1)}')
while read -r name version; do
  [ -n "$name" ] || continue
  case $name in
    rsock__*) fail "internal $name is exported" ;;
    rsock_*) [ "$version" = RSOCK_0.2 ] && passed=$((passed + 1)) || fail "$name has version $version, not RSOCK_0.2" ;;
    *) fail "$name is exported (only rsock_* may be)" ;;
  esac
done <<<"$exported"

# Every function declared RSOCK_API (static inline helpers are not exported).
for fn in $(grep -E '^RSOCK_API ' "$src/include/rsock.h" | grep -oE '\brsock_[a-z0-9_]+\(' | tr -d '(' | sort -u); do
  grep -q "^$fn " <<<"$exported" || fail "$fn is declared in rsock.h but not exported"
done
# debian/librsock0.symbols lists exactly what the library exports (a symbol
# missing there makes dpkg-gensymbols report and the package's dependency
# too loose; regenerate: bash .ci/packaging.sh --update-symbols).
symbols=$src/debian/librsock0.symbols
if [ -f "$symbols" ]; then
  listed=$(sed -n 's/^ \(rsock_[^@ ]*\)@\([^ ]*\) .*/\1 \2/p' "$symbols" | LC_ALL=C sort)
  while read -r name version; do
    case $name in rsock_*) ;; *) continue ;; esac
    grep -qx "$name $version" <<<"$listed" && passed=$((passed + 1)) ||
      fail "$name@$version is exported but not in debian/librsock0.symbols"
  done <<<"$exported"
  while read -r name version; do
    [ -n "$name" ] || continue
    grep -qx "$name $version" <<<"$exported" || fail "debian/librsock0.symbols lists $name@$version, which is not exported"
  done <<<"$listed"
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = librsock.so.0 ] && passed=$((passed + 1)) || fail "soname $soname, want librsock.so.0"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
