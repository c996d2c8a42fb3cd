#!/usr/bin/env bash
# Skips are reported as skips: a check.h program exits 77 when all that ran
# passed but something was skipped (1 when a check failed, 0 when all ran),
# ctest's SKIP_RETURN_CODE; tools/skipped.sh lists each skipped test with
# its SKIP/BLOCKED lines, says "none" when nothing was skipped, and fails
# when CI is set.
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
expect() { # expect WHAT WANT GOT
  [ "$2" = "$3" ] && passed=$((passed + 1)) || fail "$1: got [$3], want [$2]"
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A test program with one passing case and, per -D, a skipped or failing one.
cat >"$work/t.c" <<'C'
#include "check.h"
void passes(void);
void skips(void);
void fails(void);
void passes(void) { CHECK(1); }
void skips(void) { SKIP("no such thing here"); }
void fails(void) { CHECK_EQ(1, 2); }
int main(void)
{
    RUN(passes);
#ifdef WITH_SKIP
    RUN(skips);
#endif
#ifdef WITH_FAIL
    RUN(fails);
#endif
#ifdef SKIP_OUTSIDE_RUN
    check_note_skip();
#endif
    return check_done();
}
C
status() { # status FLAGS...: the exit status and last line of the program built with FLAGS
  "$cc" "${san[@]}" -Wall -Wextra -Werror -I"$src/include" -I"$src/tests" "$@" "$work/t.c" "$build/librsock.a" \
    -pthread -o "$work/t" || { echo "compile failed"; return; }
  local out rc=0; out=$("$work/t" 2>/dev/null) || rc=$?
  echo "$rc $(tail -n1 <<<"$out")"
}
expect "all pass" "0 1 passed, 0 failed" "$(status)"
expect "a skip" "77 1 passed, 0 failed, 1 skipped" "$(status -DWITH_SKIP)"
expect "a skip and a failure" "1 1 passed, 1 failed, 1 skipped" "$(status -DWITH_SKIP -DWITH_FAIL)"
expect "a skip outside RUN" "77 1 passed, 0 failed, 1 skipped" "$(status -DSKIP_OUTSIDE_RUN)"

# tools/skipped.sh on a ctest result with one skipped test, then none.
mkdir -p "$work/b/Testing/Temporary"
cat >"$work/b/ctest-junit.xml" <<'X'
<testsuite>
	<testcase name="test_a" classname="test_a" time="0.1" status="run">
	</testcase>
	<testcase name="test_b" classname="test_b" time="0.2" status="notrun">
		<skipped message="SKIP_RETURN_CODE=77"/>
	</testcase>
</testsuite>
X
cat >"$work/b/Testing/Temporary/LastTest.log" <<'L'
1/2 Testing: test_a
Output:
----------------------------------------------------------
SKIP this line belongs to a test that ran
<end of output>
2/2 Testing: test_b
Output:
----------------------------------------------------------
ok: one thing
SKIP sandbox: needs root
BLOCKED: the VM: no qemu
<end of output>
L
out=$(CI= bash "$src/tools/skipped.sh" "$work/b"); rc=$?
expect "skipped.sh status" 0 "$rc"
expect "skipped.sh lists test_b's reasons" "  test_b:
    SKIP sandbox: needs root
    BLOCKED: the VM: no qemu" "$(tail -n3 <<<"$out")"
grep -q "test_a" <<<"$out" && fail "skipped.sh lists test_a, which ran"
CI=1 bash "$src/tools/skipped.sh" "$work/b" >/dev/null
expect "skipped.sh under CI" 1 "$?"
sed -i 's/status="notrun"/status="run"/' "$work/b/ctest-junit.xml"
expect "skipped.sh with none" "Skipped: none (every test ran)" "$(CI=1 bash "$src/tools/skipped.sh" "$work/b")"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
