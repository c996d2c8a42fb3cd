#!/usr/bin/env bash
# rsock-proxy's transparent mode (issue 15, item 4) between three network
# namespaces this test makes: client -> router (runs rsock-proxy) -> server,
# joined by veth pairs, every address inside them only.  The router does
# not forward: a client reaches the server through the proxy or not at all.
#  1. REDIRECT: nftables redirects tcp dport 80 to the proxy (REMOTE
#     `original`); a client connects to the server's port 80, IPv4 and
#     IPv6, and is answered; the server sees the router's address.
#  2. A loop: a client that comes straight to the proxy's port is closed,
#     with a log line, and the proxy serves on.
#  3. TPROXY: nftables tproxy (+ fwmark 1 routed to lo) to a --transparent
#     listener given LOCAL alone, with --spoof-source: the server sees the
#     client's own address, IPv4 and IPv6.
#  4. Refusals: `original` in a pool, LOCAL alone without --transparent,
#     --spoof-source without it, a --transparent listener without
#     CAP_NET_ADMIN (setpriv) -- the first three run anywhere.
# Needs root, `ip netns`, nft and socat: exit 77 elsewhere (CI: a failure).
source "$(dirname "$0")/lib/proxy.sh"

# refused EXPECTED-MESSAGE ARGS...: exits 2 at once, saying EXPECTED-MESSAGE.
refused() {
  local want=$1; shift
  local out rc=0
  out=$(timeout 5 "$PROXY" "$@" 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "rsock-proxy $*: exit $rc, want 2 (output: $out)"
  grep -qF -- "$want" <<<"$out" || fail "rsock-proxy $*: \"$out\" lacks \"$want\""
}
refused '`original` cannot share a pool with other REMOTEs' 127.0.0.1:0 original 127.0.0.1:1
refused '`original` cannot share a pool with other REMOTEs' 127.0.0.1:0 127.0.0.1:1 original
refused 'LOCAL and REMOTE are required (REMOTE `original`' 127.0.0.1:0
refused 'spoof-source needs transparent' --spoof-source 127.0.0.1:0 original
out=$(timeout 5 "$PROXY" --check --transparent 127.0.0.1:0 2>&1) || fail "--check --transparent LOCAL: $out"
out=$(timeout 5 "$PROXY" --check 127.0.0.1:0 original 2>&1) || fail "--check LOCAL original: $out"
printf 'listen redirect [::]:0\n  server original\nlisten tproxy 0.0.0.0:0\n  transparent\n  spoof-source\n' >"$WORK/good.conf"
out=$(timeout 5 "$PROXY" -c "$WORK/good.conf" --check 2>&1) || fail "--check of a file with \`server original\` and a transparent section: $out"
printf 'listen mixed [::]:0\n  server original\n  server 127.0.0.1:1\n' >"$WORK/mixed.conf"
rc=0; out=$(timeout 5 "$PROXY" -c "$WORK/mixed.conf" --check 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -qF '`original` cannot share a pool' <<<"$out" || fail "a file mixing original and a server: exit $rc: $out"
pass "refused: \`original\` in a pool (command line and file), LOCAL alone without --transparent, --spoof-source without it"

need ip nft socat ss setpriv
if [ "$(id -u)" != 0 ]; then
  [ -n "${CI:-}" ] && fail "needs root (CI runs as root)"
  echo "SKIP: needs root for network namespaces"; exit 77
fi

NS=rsock-tp-$$
C=$NS-client R=$NS-router S=$NS-server
delete_namespaces() { for ns in "$C" "$R" "$S"; do ip netns del "$ns" 2>/dev/null || true; done; }
trap 'cleanup; delete_namespaces' EXIT
if ! ip netns add "$C" 2>"$WORK/netns.err"; then
  [ -n "${CI:-}" ] && fail "ip netns add: $(cat "$WORK/netns.err")"
  echo "SKIP: ip netns add: $(cat "$WORK/netns.err")"; exit 77
fi
ip netns add "$R"; ip netns add "$S"
at() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# client c0 10.77.1.2 -- r0 10.77.1.1 router r1 10.77.2.1 -- s0 10.77.2.2 server (and fd77:N::)
ip -n "$C" link add c0 type veth peer name r0 netns "$R"
ip -n "$S" link add s0 type veth peer name r1 netns "$R"
addr() { ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" addr add "$4" dev "$2" nodad; ip -n "$1" link set "$2" up; }
addr "$C" c0 10.77.1.2/24 fd77:1::2/64
addr "$R" r0 10.77.1.1/24 fd77:1::1/64
addr "$R" r1 10.77.2.1/24 fd77:2::1/64
addr "$S" s0 10.77.2.2/24 fd77:2::2/64
for ns in "$C" "$R" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$C" route add default via 10.77.1.1; ip -n "$C" -6 route add default via fd77:1::1
ip -n "$S" route add default via 10.77.2.1; ip -n "$S" -6 route add default via fd77:2::1
at "$R" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

# The server answers each connection with the address it came from.
serve() { start "server-$1-$2" ip netns exec "$S" socat "$1-LISTEN:$2,bind=$3,reuseaddr,fork" \
            SYSTEM:'echo "$SOCAT_PEERADDR"'; }
listening() { # PORT COUNT: COUNT sockets listen on PORT
  for _ in $(seq 100); do
    [ "$(at "$S" ss -Hltn "sport = :$1" | wc -l)" -ge "$2" ] && return; sleep 0.05
  done
  fail "the server on port $1 did not start"
}
serve TCP4 80 10.77.2.2; serve TCP6 80 '[fd77:2::2]'; serve TCP4 81 10.77.2.2; serve TCP6 81 '[fd77:2::2]'
listening 80 2; listening 81 2
# ask ADDRESS: what a client in the client namespace is told (-t 5: the answer
# may come a while after the client's own end, the server forks a shell).
ask() { at "$C" timeout 8 socat -t 5 -T 5 - "$1" </dev/null 2>/dev/null || true; }

# proxy ARGS...: rsock-proxy in the router; sets PORT.
proxy() {
  : >"$WORK/proxy.log"
  start proxy ip netns exec "$R" "$PROXY" -v "$@"
  PROXY_PID=$LAST_PID
  PORT=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying [^ ]*:([0-9]+) .*/\1/')
}
end_proxy() { kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; }

# 1. REDIRECT, IPv4 and IPv6 (one dual-stack listener: IPv4 clients arrive v4-mapped).
proxy '[::]:0' original
grep -q "relaying \[::\]:$PORT -> the original destination" "$WORK/proxy.log" ||
  fail "start line: $(head -1 "$WORK/proxy.log")"
at "$R" nft -f - <<EOF
table inet rsock_redirect {
  chain pre { type nat hook prerouting priority dstnat; policy accept; tcp dport 80 redirect to :$PORT; }
}
EOF
got=$(ask TCP4:10.77.2.2:80)
[ "$got" = 10.77.2.1 ] || fail "REDIRECT IPv4: the server saw \"$got\", want the router's 10.77.2.1"
wait_for "$WORK/proxy.log" 'backend 10\.77\.2\.2:80\)' >/dev/null
got=$(ask 'TCP6:[fd77:2::2]:80')
grep -Eq 'fd77:2::1|fd77:0*2:(0000:){5}0*1' <<<"$got" || fail "REDIRECT IPv6: the server saw \"$got\", want the router's fd77:2::1"
wait_for "$WORK/proxy.log" 'backend \[fd77:2::2\]:80\)' >/dev/null
pass "REDIRECT: clients for 10.77.2.2:80 and [fd77:2::2]:80 relayed to them from the router"

# 2. Straight to the proxy: its original destination is the listener itself.
got=$(ask "TCP4:10.77.1.1:$PORT")
[ -z "$got" ] || fail "a client straight to the proxy was answered: \"$got\""
wait_for "$WORK/proxy.log" "10\.77\.1\.1:$PORT is listener .* itself \(a loop" >/dev/null
got=$(ask TCP4:10.77.2.2:80)
[ "$got" = 10.77.2.1 ] || fail "after the loop was refused, a client was told \"$got\""
pass "a loop: a client straight to the proxy's port is closed with a log line; the next is served"
end_proxy
at "$R" nft delete table inet rsock_redirect

# 3. TPROXY with --spoof-source: the server sees the client's own address.
# Packets of transparent sockets (the client's and the spoofed upstream
# connection's replies) and new ones for port 81 get mark 1, which routes
# them to this host.
# One dual-stack listener (IPV6_TRANSPARENT) takes both families' connections.
proxy --transparent --spoof-source '[::]:0'
grep -q "relaying \[::\]:$PORT -> the original destination" "$WORK/proxy.log" ||
  fail "start line: $(head -1 "$WORK/proxy.log")"
ip -n "$R" rule add fwmark 1 lookup 100
ip -n "$R" route add local 0.0.0.0/0 dev lo table 100
ip -n "$R" -6 rule add fwmark 1 lookup 100
ip -n "$R" -6 route add local ::/0 dev lo table 100
for family in ip ip6; do
  at "$R" nft -f - <<EOF
table $family rsock_tproxy {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    meta l4proto tcp socket transparent 1 meta mark set 1 accept
    tcp dport 81 meta mark set 1 tproxy to :$PORT accept
  }
}
EOF
done
got=$(ask TCP4:10.77.2.2:81)
[ "$got" = 10.77.1.2 ] || fail "TPROXY --spoof-source: the server saw \"$got\", want the client's 10.77.1.2"
got=$(ask 'TCP6:[fd77:2::2]:81')
grep -Eq 'fd77:1::2|fd77:0*1:(0000:){5}0*2' <<<"$got" ||
  fail "TPROXY --spoof-source IPv6: the server saw \"$got\", want the client's fd77:1::2"
wait_for "$WORK/proxy.log" '10\.77\.1\.2\]?:[0-9]+ closed .*backend 10\.77\.2\.2:81\)' >/dev/null
wait_for "$WORK/proxy.log" '\[fd77:1::2\]:[0-9]+ closed .*backend \[fd77:2::2\]:81\)' >/dev/null
got=$(ask "TCP4:10.77.1.1:$PORT")
[ -z "$got" ] || fail "TPROXY: a client straight to the proxy was answered: \"$got\""
wait_for "$WORK/proxy.log" "10\.77\.1\.1:$PORT is listener .* itself \(a loop" >/dev/null
pass "TPROXY: clients for 10.77.2.2:81 and [fd77:2::2]:81 relayed from their own addresses (--spoof-source); straight to the proxy: a loop, closed"
end_proxy

# 4. Without CAP_NET_ADMIN (nor CAP_NET_RAW) the kernel refuses IP_TRANSPARENT: said, exit 1.
rc=0
out=$(at "$R" timeout 5 setpriv --bounding-set -net_admin,-net_raw --inh-caps -net_admin,-net_raw \
        "$PROXY" --transparent 127.0.0.1:0 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q 'cannot listen on 127.0.0.1:0: .*IP_TRANSPARENT.*Operation not permitted' <<<"$out" ||
  fail "--transparent without CAP_NET_ADMIN: exit $rc: $out"
pass "--transparent without CAP_NET_ADMIN: \"$(grep -o 'cannot listen.*' <<<"$out")\", exit 1"
echo "5 checks passed (the first with 7 cases)"
