#!/usr/bin/env bash
# Install into a temporary prefix and build the README's example outside the
# tree with nothing but cc and pkg-config, then run it.
set -euo pipefail
build=${1:-build}
prefix=$(mktemp -d) work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
make install BUILD="$build" PREFIX="$prefix" >/dev/null
libdir=$(find "$prefix" -name rsock.pc -printf '%h\n' | head -n1)
export PKG_CONFIG_PATH=$libdir
test -f "$prefix/include/rsock.h"
ls "$prefix"/lib*/librsock.so.0* "$prefix"/lib*/librsock.a >/dev/null
man_count=$(find "$prefix/share/man" -name '*.[137]' | wc -l)
echo "installed: header, libraries, rsock.pc, $man_count man pages"
[ "$man_count" -gt 50 ] || { echo "too few man pages installed"; exit 1; }
MANPATH="$prefix/share/man" man -w rsock_socket >/dev/null
cp examples/readme-echo.c "$work/prog.c"
(cd "$work" && cc -Wall -Wextra -Werror prog.c $(pkg-config --cflags --libs rsock) -o prog)
out=$(LD_LIBRARY_PATH=$(dirname "$libdir") "$work/prog")
echo "$out"
grep -q '^echoed: hello, rsock$' <<<"$out"
echo "out-of-tree build with pkg-config: ok"
