#!/usr/bin/env bash
# rsock-proxy -c FILE (rsock-proxy.conf(5)): every bad file is refused with
# exit 2 and "FILE:LINE: what" for each of its errors, by --check and at
# start alike; a good file passes --check (exit 0, nothing bound) and a
# file with two listeners relays through both to their own backends; an
# option on the command line wins over the file's.
source "$(dirname "$0")/lib/proxy.sh"
checks=0
GOOD_TAIL='listen a 127.0.0.1:0\nserver 127.0.0.1:1\n'

# bad 'LINE: MESSAGE' TEXT: a file of TEXT (printf %b: \n, \t, \" ...) is
# refused by --check with exit 2, saying "FILE:LINE: MESSAGE".
bad() {
  local want=$1 f=$WORK/bad$checks.conf out rc=0
  printf '%b' "$2" >"$f"
  out=$(timeout 5 "$PROXY" -c "$f" --check 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "$(cat "$f") -- exit $rc, want 2 (output: $out)"
  grep -qF -- "rsock-proxy: $f:$want" <<<"$out" ||
    fail "file:"$'\n'"$(cat "$f")"$'\n'"said \"$out\", lacks \"$f:$want\""
  checks=$((checks + 1))
}

# Options: unknown, values, flags, their place.
bad '1: no option named "nosuch"' "nosuch 1\n$GOOD_TAIL"
bad '2: no option named "idle-timout"' "# a typo\nidle-timout 5\n$GOOD_TAIL"
bad '1: --threads wants a value' "threads\n$GOOD_TAIL"
bad '1: --threads: "0" is not in 1..1024' "threads 0\n$GOOD_TAIL"
bad '1: --idle-timeout: bad number of seconds: "soon"' "idle-timeout soon\n$GOOD_TAIL"
bad '1: --log-format wants text or json, not "xml"' "log-format xml\n$GOOD_TAIL"
bad '1: --keep-cap wants net_admin, not "sys_admin"' "keep-cap sys_admin\n$GOOD_TAIL"
bad '1: --accept-proxy takes no value' "accept-proxy yes\n$GOOD_TAIL"
bad '1: --verbose takes no value' "verbose 1\n$GOOD_TAIL"
bad '1: --metrics wants a value' "metrics \"\"\n$GOOD_TAIL"
bad '1: metrics takes one value, not 2' "metrics 127.0.0.1:1 127.0.0.1:2\n$GOOD_TAIL"
bad '1: --sockopt: no socket option named "SO_NOSUCH"' "sockopt SO_NOSUCH=1\n$GOOD_TAIL"
bad '1: config is for the command line only' "config other.conf\n$GOOD_TAIL"
bad '1: check is for the command line only' "check\n$GOOD_TAIL"
bad '3: --balance wants rr, leastconn or hash, not "random"' \
    'listen a 127.0.0.1:0\nserver 127.0.0.1:1\nbalance random\n'
bad '3: --send-proxy wants v1, v2 or none, not "v3"' \
    'listen a 127.0.0.1:0\nserver 127.0.0.1:1\nsend-proxy v3\n'
bad '1: --fall: "0" is not in 1..1000' "fall 0\n$GOOD_TAIL"
bad '3: threads is a global option: say it before the first listen line' \
    'listen a 127.0.0.1:0\n  server 127.0.0.1:1\n  threads 2\n'
bad '3: idle-timeout is a global option' "$GOOD_TAIL\tidle-timeout 5\n"
# Sections and servers.
bad '1: server outside a listen section' 'server 127.0.0.1:1\nlisten a 127.0.0.1:0\n'
bad '1: listen wants a NAME and a LOCAL address' 'listen 127.0.0.1:0\nserver 127.0.0.1:1\n'
bad '1: listen wants a NAME and a LOCAL address' 'listen a 127.0.0.1:0 b\nserver 127.0.0.1:1\n'
bad '3: listener a is already defined at line 1' "$GOOD_TAIL$GOOD_TAIL"
bad '3: listener b: LOCAL 127.0.0.1:8080 is listener a'"'"'s already (line 1)' \
    'listen a 127.0.0.1:8080\nserver 127.0.0.1:1\nlisten b 127.0.0.1:8080\nserver 127.0.0.1:1\n'
bad '1: listener name "a b": 1 to 64 letters' 'listen "a b" 127.0.0.1:0\nserver 127.0.0.1:1\n'
bad '1: listener a has no server' 'listen a 127.0.0.1:0\nbalance hash\n'
bad '1: LOCAL: rsock_addr_parse "127.0.0.1:99999"' 'listen a 127.0.0.1:99999\nserver 127.0.0.1:1\n'
bad '2: server: rsock_addr_parse "1.2.3.999:80": bad IPv4 address' \
    'listen a 127.0.0.1:0\nserver 1.2.3.999:80\n'
bad '2: server "app.internal:99999": bad port' 'listen a 127.0.0.1:0\nserver app.internal:99999\n'
bad '2: server wants one ADDRESS' 'listen a 127.0.0.1:0\nserver\n'
bad '2: server wants one ADDRESS' 'listen a 127.0.0.1:0\nserver 127.0.0.1:1 127.0.0.1:2\n'
# Words and lines.
bad '1: a quote is not closed' "chroot \"/srv/my dir\n$GOOD_TAIL"
bad '1: a quote inside a word' "chroot /srv/my\"dir\"\n$GOOD_TAIL"
bad '1: text right after a closing quote' "chroot \"/srv\"x\n$GOOD_TAIL"
bad '1: in quotes, a backslash escapes only " and \' "chroot \"/srv\\\\n\"\n$GOOD_TAIL"
bad '1: line too long (5000 bytes, at most 4096)' "$(printf '#%04999d' 0)\n$GOOD_TAIL"
bad '1: a NUL byte in the line' "threads 2\0 junk\n$GOOD_TAIL"
pass "$checks bad files, each refused by --check with exit 2 and FILE:LINE: what"

# Whole files: every error is told; unreadable or empty files.
f=$WORK/many.conf
printf 'nosuch 1\nthreads 0\nserver 127.0.0.1:1\nlisten a 127.0.0.1:0\n  grace 2\n  fall x\nlisten a 127.0.0.1:0\n  server 127.0.0.1:1\n' >"$f"
rc=0; out=$(timeout 5 "$PROXY" -c "$f" --check 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "many errors: exit $rc"
for line in 1 2 3 4 5 6 7; do grep -q "^rsock-proxy: $f:$line: " <<<"$out" || fail "many errors: no line $line in: $out"; done
[ "$(grep -c "^rsock-proxy: $f:" <<<"$out")" = 7 ] || fail "many errors: not 7 lines: $out"
rc=0; out=$(timeout 5 "$PROXY" -c "$f" 2>&1) || rc=$?
[ "$rc" = 2 ] && [ "$(grep -c "^rsock-proxy: $f:" <<<"$out")" = 7 ] || fail "start on a bad file: exit $rc: $out"
for f in "$WORK/nonexistent.conf:No such file or directory" "$WORK:Is a directory"; do
  rc=0; out=$(timeout 5 "$PROXY" -c "${f%:*}" --check 2>&1) || rc=$?
  [ "$rc" = 2 ] && grep -qF "rsock-proxy: ${f%:*}: cannot read: ${f##*:}" <<<"$out" || fail "${f%:*}: exit $rc: $out"
done
: >"$WORK/empty.conf"
rc=0; out=$(timeout 5 "$PROXY" -c "$WORK/empty.conf" --check 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -qF "$WORK/empty.conf: no listen section" <<<"$out" || fail "empty file: exit $rc: $out"
pass "a file with 7 errors says all 7 (--check and start), with exit 2; a missing file, a directory, an empty file: exit 2 with the reason"

# backend NAME BYTES: a backend that sends each client BYTES bytes and
# closes (which backend answered shows in the count); sets BACKEND.
backend() {
  start "$1" "$PEER" oneshot 0 "$2"
  BACKEND=127.0.0.1:$(wait_for "$WORK/$1.log" '^listening ' | cut -d' ' -f2)
}
# listener_of REMOTE: the address of the listener whose pool is REMOTE
# (the proxy's start lines: "relaying LOCAL -> POOL (...)").
listener_of() {
  wait_for "$WORK/proxy.log" "relaying [^ ]+ -> $1 \\(" | sed -E 's/.*relaying ([^ ]+) .*/\1/'
}
# got ADDRESS: the bytes a client receives from ADDRESS (TCP, or a Unix path).
got() {
  local to="TCP:$1"; [ "${1#/}" != "$1" ] && to="UNIX-CONNECT:$1"
  timeout 10 socat -u "$to" - 2>/dev/null | wc -c
}

need socat
backend three 3; three=$BACKEND
backend five 5; five=$BACKEND
mkdir "$WORK/a dir"
sock="$WORK/a dir/b.sock"
cat >"$WORK/two.conf" <<CONF
# two listeners, each with its own backend
idle-timeout 100
balance leastconn            # the default of both listeners
listen tcp 127.0.0.1:0
    server $three            # a comment after a value
listen unix "$sock"
    balance rr
    send-proxy none
    server "$five"
CONF
out=$(timeout 5 "$PROXY" -c "$WORK/two.conf" --check 2>&1) || fail "--check on a good file: exit $?: $out"
[ ! -e "$sock" ] || fail "--check bound $sock"
printf 'listen names 127.0.0.1:0\n  server backend.invalid:80\nlisten tproxy 127.0.0.1:1\n  transparent\n' \
  >"$WORK/names.conf"
out=$(timeout 5 "$PROXY" -c "$WORK/names.conf" --check 2>&1) || fail "--check on names.conf: exit $?: $out"
pass "--check on a good file: exit 0, nothing bound; a backend name that does not resolve is no error, nor a transparent listener without server"

start proxy "$PROXY" -c "$WORK/two.conf"
PROXY_PID=$LAST_PID
tcp=$(listener_of "$three")
line=$(listener_of "$five")   # logged with its blank escaped
[ "$line" = "${sock// /\\x20}" ] || fail "listener unix: $line, want $sock"
for i in 1 2 3; do
  [ "$(got "$tcp")" = 3 ] || fail "listener tcp ($tcp): not backend three's 3 bytes"
  [ "$(got "$sock")" = 5 ] || fail "listener unix ($sock): not backend five's 5 bytes"
done
grep -q "idle-timeout 100 s" "$WORK/proxy.log" || fail "the file's idle-timeout: $(cat "$WORK/proxy.log")"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "a file with a TCP and a Unix listener (a quoted path with a blank): each relays to its own backend, 3 times"

# The command line wins over the file: a global (--idle-timeout) and a
# listener option (--balance, over the file's default and section).
cat >"$WORK/pool.conf" <<CONF
idle-timeout 100
balance hash
listen pool 127.0.0.1:0
    balance rr
    server $three
    server $five
CONF
start proxy "$PROXY" -c "$WORK/pool.conf" --idle-timeout 7 --balance leastconn
PROXY_PID=$LAST_PID
line=$(wait_for "$WORK/proxy.log" 'relaying ')
grep -qF "(leastconn)" <<<"$line" || fail "--balance leastconn did not win over the file's: $line"
grep -qF "idle-timeout 7 s" <<<"$line" || fail "--idle-timeout 7 did not win over the file's 100: $line"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "the command line wins over the file: --idle-timeout 7 over 100, --balance leastconn over the section's rr"
