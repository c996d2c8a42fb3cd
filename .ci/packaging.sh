#!/usr/bin/env bash
# Debian packages and the ABI: build librsock0, librsock-dev and rsock-proxy
# with dpkg-buildpackage (no tests: CI ran them), lintian with no error,
# install them, build and run a program against the installed -dev package
# (pkg-config and find_package), then compare the library's ABI with the
# last release's (abi/librsock.abi, abidiff).  Symbols that are new since
# debian/librsock0.symbols are listed (not an error: regenerate the file
# with `bash .ci/packaging.sh --update-symbols`); lost ones fail the build
# once the version is released (tag v<version>), and are listed before.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends debhelper dpkg-dev fakeroot lintian \
  abigail-tools pkg-config cmake >/dev/null

version=$(dpkg-parsechangelog -S Version)
project=$(sed -n 's/^project(rsock VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ "$version" = "$project" ] || { echo "debian/changelog says $version, CMakeLists.txt $project"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/rsock-$version
mkdir "$src"
git ls-files -z | xargs -0 cp --parents -t "$src" # the tracked files, as they are here
# Before the release's tag, the symbols may still change: dpkg-gensymbols reports, never fails.
released=0
git rev-parse -q --verify "refs/tags/v$version" >/dev/null && released=1 || export DPKG_GENSYMBOLS_CHECK_LEVEL=0
start=$SECONDS
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
  { tail -40 "$work/build.log"; echo "dpkg-buildpackage failed"; exit 1; }
echo "packages built in $((SECONDS - start)) s: $(cd "$work" && ls ./*.deb | grep -v dbgsym | tr '\n' ' ')"

# The symbols file against what the built library exports, both ways.
built=$(ls "$src"/debian/librsock0/usr/lib/*/librsock.so.0.* | head -n1)
exported=$(objdump -T "$built" | awk '$0 !~ /\*UND\*|\*ABS\*/ && NF >= 7 {print $NF "@" $(NF-1)}' | sort)
listed=$(sed -n 's/^ \(rsock_[^ ]*\) .*/\1/p' debian/librsock0.symbols | sort)
new=$(comm -23 <(echo "$exported") <(echo "$listed"))
lost=$(comm -13 <(echo "$exported") <(echo "$listed"))
if [ -n "$new" ]; then
  echo "NOTE: symbols new since debian/librsock0.symbols (add them: bash .ci/packaging.sh --update-symbols):"
  sed 's/^/  /' <<<"$new"
fi
if [ -n "$lost" ]; then
  echo "NOTE: symbols of debian/librsock0.symbols the library no longer has (a break once released):"
  sed 's/^/  /' <<<"$lost"
fi
if [ "${1:-}" = --update-symbols ]; then
  [ "$released" = 1 ] || rm "$src/debian/librsock0.symbols" # unreleased: from scratch, lost ones dropped
  (cd "$src" && dpkg-gensymbols -v"$version" -plibrsock0 -Pdebian/librsock0 -O"$work/symbols" >/dev/null 2>&1)
  cp "$work/symbols" debian/librsock0.symbols
  echo "debian/librsock0.symbols: $(grep -c '^ ' debian/librsock0.symbols) symbols"
fi

lint_rc=0
lint=$(lintian --fail-on error "$work"/rsock_"$version"_*.changes 2>&1) || lint_rc=$?
grep -v '^running with root' <<<"$lint" || true
[ "$lint_rc" = 0 ] || { echo "lintian reports errors"; exit 1; }
echo "lintian: no errors"

debs=("$work"/librsock0_*.deb "$work"/librsock-dev_*.deb "$work"/rsock-proxy_*.deb)
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
trap 'apt-get -o DPkg::Lock::Timeout=300 purge -y -qq librsock0 librsock-dev rsock-proxy >/dev/null; rm -rf "$work"' EXIT
mkdir "$work/use"
cp examples/readme-echo.c "$work/use/prog.c"
(cd "$work/use" && cc -Wall -Wextra -Werror prog.c $(pkg-config --cflags --libs rsock) -o prog)
"$work/use/prog" | grep -q '^echoed: hello, rsock$'
printf 'cmake_minimum_required(VERSION 3.16)\nproject(use C)\nfind_package(rsock 0.2 REQUIRED)\n%s\n%s\n' \
  'add_executable(prog prog.c)' 'target_link_libraries(prog PRIVATE rsock::rsock)' >"$work/use/CMakeLists.txt"
cmake -S "$work/use" -B "$work/use/build" >/dev/null && cmake --build "$work/use/build" >/dev/null
"$work/use/build/prog" | grep -q '^echoed: hello, rsock$'
rsock-proxy --version >/dev/null
# (in the package: a minimal image may exclude /usr/share/man from installs)
# (the listings are read whole: grep -q would stop early and pipefail see dpkg-deb's SIGPIPE)
dev_files=$(dpkg-deb -c "$work"/librsock-dev_*.deb) proxy_files=$(dpkg-deb -c "$work"/rsock-proxy_*.deb)
grep -q 'man3/rsock_socket\.3' <<<"$dev_files" || { echo "librsock-dev has no man pages"; exit 1; }
grep -q 'man1/rsock-proxy\.1' <<<"$proxy_files" || { echo "rsock-proxy has no man page"; exit 1; }
echo "installed packages: a program built with pkg-config and with find_package(rsock 0.2) runs; rsock-proxy and man pages are there"

bash .ci/abi-check.sh "$(ls /usr/lib/*/librsock.so.0.* | head -n1)"
