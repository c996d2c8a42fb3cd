#!/usr/bin/env bash
# A REMOTE given by name (issue 14, item 1): it stands for every address
# the name has (one backend each), and when the name later gives other
# addresses the pool follows without a restart.  The name lives in a
# hosts file of the test's own: the proxy runs in a mount namespace where
# that file is bind-mounted over /etc/hosts (needs root; CI runs as root).
source "$(dirname "$0")/lib/proxy.sh"
need socat unshare
if [ "$(id -u)" != 0 ]; then
  [ -n "${CI:-}" ] && fail "needs root (CI runs as root)"
  echo "SKIP: needs root for a mount namespace"; exit 77
fi
checks=0

# backend ADDR: answers every connection with its own address.
backend() { start "b_$1" socat "TCP-LISTEN:$2,bind=$1,reuseaddr,fork" EXEC:"echo $1"; }
up_wait() { for _ in $(seq 100); do socat -T1 - "TCP:$1:$2" </dev/null >/dev/null 2>&1 && return; sleep 0.05; done; fail "backend $1:$2 did not start"; }
port=$(free_port)
for a in 127.0.0.11 127.0.0.12 127.0.0.13; do backend "$a" "$port"; done
for a in 127.0.0.11 127.0.0.12 127.0.0.13; do up_wait "$a" "$port"; done

hosts=$WORK/hosts
printf '127.0.0.11 pool.rsock.test\n127.0.0.12 pool.rsock.test\n' >"$hosts"
start proxy unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$hosts" \
  "$PROXY" --resolve-interval 1 --health-interval 0 127.0.0.1:0 "pool.rsock.test:$port"
PROXY_PID=$LAST_PID
PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
ask() { timeout 10 socat -t 8 -T 8 - "TCP:$PROXY_ADDR" </dev/null 2>/dev/null || true; }

for _ in $(seq 10); do ask; done | sort | uniq -c >"$WORK/first"
[ "$(awk '{print $2}' "$WORK/first" | tr '\n' ' ')" = "127.0.0.11 127.0.0.12 " ] ||
  fail "a name with two addresses: answers $(tr '\n' ' ' <"$WORK/first")"
pass "one REMOTE name with two addresses: a pool of two (round robin: $(awk '{print $1}' "$WORK/first" | tr '\n' ' '))"
checks=$((checks + 1))

# The name now gives .12 and .13: written in place (the bind mount keeps the inode).
printf '127.0.0.12 pool.rsock.test\n127.0.0.13 pool.rsock.test\n' >"$hosts"
wait_for "$WORK/proxy.log" "now gives 127.0.0.13:$port: added" 10 >/dev/null
wait_for "$WORK/proxy.log" "no longer gives 127.0.0.11:$port: removed" 10 >/dev/null
for _ in $(seq 10); do ask; done | sort | uniq -c >"$WORK/second"
[ "$(awk '{print $2}' "$WORK/second" | tr '\n' ' ')" = "127.0.0.12 127.0.0.13 " ] ||
  fail "after the name changed: answers $(tr '\n' ' ' <"$WORK/second")"
pass "the name changed to .12 and .13: the pool followed without a restart"
checks=$((checks + 1))

# A name that stops resolving keeps the addresses it had.
printf '# nothing\n' >"$hosts"
wait_for "$WORK/proxy.log" "REMOTE pool.rsock.test:$port: " 10 >/dev/null
[ -n "$(ask)" ] || fail "the pool emptied when its name stopped resolving"
pass "the name stopped resolving: logged, the pool kept its addresses"
checks=$((checks + 1))
echo "$checks passed, 0 failed"
