#!/usr/bin/env bash
# rsock-proxy is built on the public header alone (issue 11, item 6): its
# sources in tools/rsock-proxy/ use no internal name (rsock__*), include no
# header of src/ (only their own and system ones, rsock.h among them), and
# make no raw socket call where rsock has one (setsockopt, shutdown, ...);
# CMake builds them with include/ as the only rsock include path.  And no
# other file under tools/ holds a piece of the proxy (every tools/*.c is a
# program of its own).
set -uo pipefail
src=${RSOCK_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
dir=$src/tools/rsock-proxy
failed=0 passed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; passed=$((passed + 1)); }

files=("$dir"/*.c "$dir"/*.h)
[ -f "$dir/main.c" ] || { echo "FAIL: no $dir/main.c"; exit 1; }

hits=$(grep -n 'rsock__' "${files[@]}")
[ -z "$hits" ] && ok "no internal rsock__ name in ${#files[@]} files" || fail "internal names: $hits"

bad=""
while IFS= read -r line; do
  file=${line%%:*} header=$(sed -E 's/.*#include *[<"]([^>"]+)[>"].*/\1/' <<<"$line")
  case $line in
    *'#include "'*) [ -f "$dir/$header" ] || bad+="$line"$'\n' ;;
    *) [ "$header" != rsock.h ] && [ -f "$src/src/$header" ] && bad+="$line"$'\n' ;;
  esac
done < <(grep -H '#include' "${files[@]}")
[ -z "$bad" ] && ok "includes: the folder's own headers, rsock.h and system headers" ||
  fail "internal headers included: $bad"

# A raw call is the name not preceded by rsock_ (or another identifier
# character), followed by "(", in the code (comments and strings blanked,
# lines kept).
calls='setsockopt|getsockopt|shutdown|accept4?|connect|bind|listen|socket|send|recv|sendmsg|recvmsg|splice|getsockname|getpeername'
raw=$(for f in "${files[@]}"; do
  perl -0pe 's{/\*.*?\*/}{$& =~ s/[^\n]//gr}gse; s{"(?:\\.|[^"\\\n])*"}{""}g' "$f" |
    grep -nP "(?<![A-Za-z0-9_])($calls)\s*\(" | sed "s|^|$f:|"
done)
[ -z "$raw" ] && ok "no raw socket call where rsock has one" || fail "raw socket calls: $raw"

cml=$(sed -n '/^# ---- rsock-proxy/,/^$/p' "$src/CMakeLists.txt")
grep -q 'OUTPUT_NAME rsock-proxy' <<<"$cml" && ! grep -q '/src' <<<"$cml" &&
  ok "CMakeLists.txt builds tools/rsock-proxy/ as rsock-proxy, without src/ as an include path" ||
  fail "CMakeLists.txt's rsock-proxy section: $cml"

strays=$(grep -lE 'rsock-proxy|proxy_(config|log)' "$src"/tools/*.c "$src"/tools/*.h 2>/dev/null)
[ -z "$strays" ] && ok "no piece of the proxy left in tools/ itself" || fail "left in tools/: $strays"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
