#!/usr/bin/env bash
# rsock-proxy's command line: every refused value exits 2 with a message that
# names it (a number: the option and its range); --help and --version exit 0;
# several REMOTEs make a pool; --check exits 0 on a good command line;
# --busy-poll relays as before; the start line names the defaults.
source "$(dirname "$0")/lib/proxy.sh"
checks=0

# refused EXPECTED-MESSAGE ARGS...: exits 2 at once, saying EXPECTED-MESSAGE.
refused() {
  local want=$1; shift
  local out rc=0
  out=$(timeout 5 "$PROXY" "$@" 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "rsock-proxy $*: exit $rc, want 2 (output: $out)"
  grep -qF -- "$want" <<<"$out" || fail "rsock-proxy $*: \"$out\" lacks \"$want\""
  checks=$((checks + 1))
}

refused 'LOCAL and REMOTE are required'
refused 'LOCAL and REMOTE are required' 127.0.0.1:0
refused '--threads: "0" is not in 1..1024' --threads 0 :0 127.0.0.1:1
refused '--threads: "2x" is not in 1..1024' --threads 2x :0 127.0.0.1:1
refused '--threads: "1025" is not in 1..1024' --threads 1025 :0 127.0.0.1:1
refused '--max-conns: "-1" is not in 1..' --max-conns -1 :0 127.0.0.1:1
refused '--max-conns: "0" is not in 1..' --max-conns 0 :0 127.0.0.1:1
refused '--keepalive: "-1" is not in 0..32767' --keepalive -1 :0 127.0.0.1:1
refused '--keepalive: "32768" is not in 0..32767' --keepalive 32768 :0 127.0.0.1:1
refused '--keepalive: "1m" is not in 0..32767' --keepalive 1m :0 127.0.0.1:1
refused 'bad number of seconds: "-5"' --idle-timeout -5 :0 127.0.0.1:1
refused 'bad number of seconds: "-1"' --grace -1 :0 127.0.0.1:1
refused 'bad number of seconds: "soon"' --connect-timeout soon :0 127.0.0.1:1
refused 'bad number of seconds: "nan"' --idle-timeout nan :0 127.0.0.1:1
refused 'bad number of microseconds (0..1000000): "-1"' --busy-poll -1 :0 127.0.0.1:1
refused 'bad number of microseconds (0..1000000): "1000001"' --busy-poll 1000001 :0 127.0.0.1:1
refused 'bad number of microseconds (0..1000000): "50us"' --busy-poll 50us :0 127.0.0.1:1
refused 'no socket option named "SO_NOSUCH"' --sockopt SO_NOSUCH=1 :0 127.0.0.1:1
refused 'SO_LINGER does not take an int' --sockopt SO_LINGER=1 :0 127.0.0.1:1
refused 'bad int value' --sockopt client:TCP_NODELAY=yes :0 127.0.0.1:1
refused '--sockopt wants' --sockopt TCP_NODELAY :0 127.0.0.1:1
refused 'usage: rsock-proxy' --no-such-option :0 127.0.0.1:1
refused '--balance wants rr, leastconn or hash, not "random"' --balance random :0 127.0.0.1:1
refused '--send-proxy wants v1, v2 or none, not "v3"' --send-proxy v3 :0 127.0.0.1:1
refused '--log-format wants text or json, not "xml"' --log-format xml :0 127.0.0.1:1
refused '--keep-cap wants net_admin, not "sys_admin"' --keep-cap sys_admin :0 127.0.0.1:1
refused '--fall: "0" is not in 1..1000' --fall 0 :0 127.0.0.1:1
refused '--rise: "1001" is not in 1..1000' --rise 1001 :0 127.0.0.1:1
refused '--health-interval: bad number of seconds: "-1"' --health-interval -1 :0 127.0.0.1:1
refused '--proxy-timeout: bad number of seconds: "soon"' --proxy-timeout soon :0 127.0.0.1:1
refused '--max-per-client: "0" is not in 1..' --max-per-client 0 :0 127.0.0.1:1
refused '--rate-limit: bad rate (connections per second): "-1"' --rate-limit -1 :0 127.0.0.1:1
refused '--resolve-interval: "86401" is not in 0..86400' --resolve-interval 86401 :0 127.0.0.1:1
refused 'spoof-source needs transparent' --spoof-source :0 127.0.0.1:1
refused '-c FILE takes no LOCAL or REMOTE' -c "$WORK/any.conf" :0 127.0.0.1:1
refused '-c FILE takes no LOCAL or REMOTE' -c "$WORK/any.conf" --check :0
pass "$checks refused command lines, each exit 2 with its message"

out=$("$PROXY" --help) || fail "--help exit $?"
for opt in -v -q --threads --max-conns --connect-timeout --idle-timeout --keepalive --splice \
           --no-splice --busy-poll --sockopt --grace --version -c --check --log-format --balance \
           --health-interval --fall --rise --resolve-interval --send-proxy --accept-proxy \
           --proxy-timeout --metrics --control --max-per-client --rate-limit; do
  grep -qF -- "$opt" <<<"$out" || fail "--help does not mention $opt"
done
"$PROXY" --version | grep -Eq '^rsock-proxy [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
pass "--help lists every option; --version prints the version"

out=$(timeout 5 "$PROXY" --check --balance hash :0 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 2>&1) ||
  fail "--check with a pool of three: exit $? ($out)"
start_echo 127.0.0.1:0
start proxy "$PROXY" --balance leastconn 127.0.0.1:0 "$ECHO_ADDR" "$ECHO_ADDR"
PROXY_PID=$LAST_PID
line=$(wait_for "$WORK/proxy.log" 'relaying ')
grep -qF -- "-> $ECHO_ADDR, $ECHO_ADDR (leastconn) (" <<<"$line" || fail "a pool of two: $line"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
pass "several REMOTEs: --check exits 0 on a pool of three; a pool of two starts, its start line names both and the balance"

for us in 0 50; do
  start_proxy --busy-poll "$us" "$ECHO_ADDR"
  grep -q "(.*adaptive, busy-poll $us us, idle-timeout 300 s, keepalive 60 s)" "$WORK/proxy.log" ||
    fail "start line: $(cat "$WORK/proxy.log")"
  timeout 30 "$PUSH" -n 8M -c 4 "$PROXY_ADDR" >"$WORK/push.log" 2>&1 || fail "push through --busy-poll $us"
  grep -q 'checksum ok' "$WORK/push.log" || fail "--busy-poll $us: checksum"
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
done
for m in splice:--splice buffer:--no-splice; do
  start_proxy "${m#*:}" "$ECHO_ADDR"
  grep -q "(.*${m%%:*}, busy-poll 200 us, idle-timeout 300 s, keepalive 60 s)" "$WORK/proxy.log" ||
    fail "start line: $(cat "$WORK/proxy.log")"
  timeout 30 "$PUSH" -n 8M -c 2 "$PROXY_ADDR" >"$WORK/push.log" 2>&1 || fail "push through ${m#*:}"
  grep -q 'checksum ok' "$WORK/push.log" || fail "${m#*:}: checksum"
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
done
pass "--busy-poll 0 and 50, --splice, --no-splice: connections x 8 MiB echoed, checksums ok; the start line names method, busy-poll, idle timeout (default 300 s) and keepalive (default 60 s)"
