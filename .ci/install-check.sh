#!/usr/bin/env bash
# Install into a temporary prefix (nothing but the compiler and CMake needed:
# the man pages are committed) and build the README's example outside the
# tree twice: with cc and pkg-config, and as a CMake project that uses
# find_package(rsock 0.2) (shared and static); run each.
set -euo pipefail
build=${1:-build}
prefix=$(mktemp -d) work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
make install BUILD="$build" PREFIX="$prefix" >/dev/null
libdir=$(find "$prefix" -name rsock.pc -printf '%h\n' | head -n1)
libdir=${libdir%/pkgconfig}
export PKG_CONFIG_PATH=$libdir/pkgconfig
test -f "$prefix/include/rsock.h"
ls "$libdir"/librsock.so.0* "$libdir"/librsock.a "$libdir"/cmake/rsock/rsock-config{,-version}.cmake >/dev/null
man_count=$(find "$prefix/share/man" -name '*.[137]' | wc -l)
echo "installed: header, libraries, rsock.pc, CMake package, $man_count man pages"
[ "$man_count" -gt 50 ] || { echo "too few man pages installed"; exit 1; }
MANPATH="$prefix/share/man" man -w rsock_socket >/dev/null

# One version everywhere: CMakeLists.txt (checked against rsock.h at configure), rsock.pc.
want=$(sed -n 's/^project(rsock VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ "$(pkg-config --modversion rsock)" = "$want" ] || { echo "rsock.pc says $(pkg-config --modversion rsock), want $want"; exit 1; }

expect_echo() { # PROGRAM [ENV...]: prints the example's line
  local out; out=$(env "${@:2}" "$1"); echo "$out"
  grep -q '^echoed: hello, rsock$' <<<"$out"
}
cp examples/readme-echo.c "$work/prog.c"
(cd "$work" && cc -Wall -Wextra -Werror prog.c $(pkg-config --cflags --libs rsock) -o prog)
expect_echo "$work/prog" LD_LIBRARY_PATH="$libdir"
echo "out-of-tree build with pkg-config: ok"

mkdir "$work/cm"
cat >"$work/cm/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(rsock 0.2 REQUIRED)
add_executable(prog_shared ../prog.c)
target_link_libraries(prog_shared PRIVATE rsock::rsock)
add_executable(prog_static ../prog.c)
target_link_libraries(prog_static PRIVATE rsock::rsock_static)
CMAKE
cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm/build" >/dev/null
expect_echo "$work/cm/build/prog_shared" # CMake's build-tree RUNPATH finds librsock.so.0
objdump -p "$work/cm/build/prog_shared" | grep -c 'NEEDED.*librsock\.so\.0' >/dev/null || { echo "prog_shared is not linked to librsock.so.0"; exit 1; }
expect_echo "$work/cm/build/prog_static"
! objdump -p "$work/cm/build/prog_static" | grep -c 'NEEDED.*librsock' >/dev/null || { echo "prog_static needs librsock.so"; exit 1; }
echo "out-of-tree build with find_package(rsock 0.2): shared and static ok"

# The version file: 0.2 is what this is; 0.1 and 0.3 are not.
for v in 0.1 0.3; do
  sed -i "s/find_package(rsock [0-9.]*/find_package(rsock $v/" "$work/cm/CMakeLists.txt"
  if cmake -S "$work/cm" -B "$work/cm/build-$v" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
    echo "find_package(rsock $v) accepted version $want"; exit 1
  fi
done
echo "find_package(rsock 0.1) and (rsock 0.3) refuse $want: ok"
