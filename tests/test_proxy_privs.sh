#!/usr/bin/env bash
# rsock-proxy --user, --chroot, --keep-cap net_admin (issue 15, item 5), as
# root (CI runs as root; elsewhere: skipped):
# 1. --user U (a throwaway system user with a supplementary group), 3 threads:
#    every thread's real, effective, saved and fs uid and gid are U's, the
#    groups exactly U's, no capability left (effective, permitted, bounding),
#    and it still relays (checksummed);
# 2. --keep-cap net_admin: CapEff, CapPrm and CapBnd exactly 0x1000 in every
#    thread;
# 3. --chroot DIR: the process's root and cwd are DIR, and it relays;
# 4. root without --user: a warning; with --user: none;
# 5. refused, exit 1 with a message: an unknown user, a missing chroot dir;
# 6. a reload adding a LOCAL on a port below 1024 after the drop: refused
#    whole, the bind's EACCES explained, the old listener still serving;
# 7. --keep-cap net_admin as root without --user: uid 0 with CapEff 0x1000;
# 8. started as U already (setpriv, as a service manager's User= does):
#    --user U serves; --keep-cap without the capability and --user root are
#    refused, exit 1, naming the call that failed;
# 9. a Unix LOCAL's file is removed at exit after the drop: --user U
#    --chroot DIR (the path is outside the chroot) in a directory of U's,
#    --user U in a sticky world-writable one (as /tmp: only the file's owner
#    may remove it there); in a directory U may not write, --user U is
#    refused, exit 1, naming the path, and leaves no file.
# 10. the control socket (--control) stays root's after the drop (given to
#    U, U's other processes could control the proxy) and is removed at exit
#    through its directory: --user U --chroot DIR in a directory of U's
#    leaves no file; --user U in root's directory leaves it, says so, and
#    the next start replaces it; refused, exit 1: a second proxy while one
#    answers there, and started as U, a socket U may not connect to (root's)
#    or may not remove (U's, in root's directory).
source "$(dirname "$0")/lib/proxy.sh"
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (CI runs as root)"; exit 77; fi
checks=0

# The user: a throwaway one with a supplementary group, else nobody.
user=nobody
if command -v useradd >/dev/null && command -v groupadd >/dev/null; then
  user=rsockpx$$ group=rsockpxg$$
  groupadd -r "$group" && useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G "$group" "$user" ||
    fail "useradd $user"
  trap 'cleanup; userdel "$user" 2>/dev/null; groupdel "$group" 2>/dev/null || true' EXIT
fi
uid=$(id -u "$user") gid=$(id -g "$user")
want_groups=$(id -G "$user" | tr ' ' '\n' | sort -n | xargs)
chmod 755 "$WORK" # the user reads the config file at a reload
start_echo 127.0.0.1:0

# field PID|PID/task/TID NAME: the values of a /proc status line.
field() { awk -v k="$2:" '$1 == k {$1 = ""; print substr($0, 2)}' "/proc/$1/status"; }
# every_task PID NAME WANT: that line is WANT in every thread.
every_task() {
  local n=0 t
  for t in /proc/"$1"/task/*; do
    got=$(field "${t#/proc/}" "$2" | xargs)
    [ "$got" = "$3" ] || fail "thread ${t##*/}: $2 is \"$got\", want \"$3\""
    n=$((n + 1))
  done
  echo "$n"
}
relays() { timeout 20 "$PUSH" -n 4M -c 4 -t 15 "$PROXY_ADDR" >"$WORK/push.log" 2>&1 ||
  fail "$1: does not relay: $(cat "$WORK/push.log")"; }
stop_proxy() { kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; }

start_proxy --threads 3 --user "$user" "$ECHO_ADDR"
wait_for "$WORK/proxy.log" "running as $user " >/dev/null
n=$(every_task "$PROXY_PID" Uid "$uid $uid $uid $uid")
every_task "$PROXY_PID" Gid "$gid $gid $gid $gid" >/dev/null
for cap in CapEff CapPrm CapBnd CapAmb; do every_task "$PROXY_PID" $cap 0000000000000000 >/dev/null; done
groups=$(field "$PROXY_PID" Groups | tr ' ' '\n' | sort -n | xargs)
[ "$groups" = "$want_groups" ] || fail "Groups: \"$groups\", want \"$want_groups\" ($user's)"
[ "$n" -ge 3 ] || fail "only $n threads seen"
relays "--user $user"
! grep -q 'warning: running as root' "$WORK/proxy.log" || fail "--user given, yet the root warning"
stop_proxy
pass "--user $user, $n threads: uid $uid and gid $gid (real, effective, saved, fs), groups $groups, no capability, relays"
checks=$((checks + 1))

: >"$WORK/proxy.log"
start_proxy --threads 2 --user "$user" --keep-cap net_admin "$ECHO_ADDR"
wait_for "$WORK/proxy.log" 'kept CAP_NET_ADMIN' >/dev/null
for cap in CapEff CapPrm CapBnd; do n=$(every_task "$PROXY_PID" $cap 0000000000001000); done
every_task "$PROXY_PID" Uid "$uid $uid $uid $uid" >/dev/null
relays "--keep-cap net_admin"
stop_proxy
pass "--keep-cap net_admin: CapEff, CapPrm, CapBnd exactly 0x1000 in all $n threads, relays"
checks=$((checks + 1))

: >"$WORK/proxy.log"
jail=$WORK/jail && mkdir "$jail"
start_proxy --user "$user" --chroot "$jail" "$ECHO_ADDR"
wait_for "$WORK/proxy.log" "chroot $jail" >/dev/null
[ "$(readlink "/proc/$PROXY_PID/root")" = "$jail" ] || fail "root is $(readlink "/proc/$PROXY_PID/root")"
[ "$(readlink "/proc/$PROXY_PID/cwd")" = "$jail" ] || fail "cwd is $(readlink "/proc/$PROXY_PID/cwd")"
relays "--chroot"
stop_proxy
pass "--chroot $jail: root and cwd there, relays"
checks=$((checks + 1))

: >"$WORK/proxy.log"
start_proxy "$ECHO_ADDR"
wait_for "$WORK/proxy.log" 'warning: running as root without --user' >/dev/null
stop_proxy
pass "root without --user: warned"
checks=$((checks + 1))

for bad in "--user nosuchuser$$:no such user" "--chroot $WORK/none:chroot $WORK/none: No such file"; do
  rc=0
  timeout 10 "$PROXY" ${bad%%:*} 127.0.0.1:0 "$ECHO_ADDR" >"$WORK/bad.log" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "${bad%%:*}: exit $rc, want 1"
  grep -q "${bad#*:}" "$WORK/bad.log" || fail "${bad%%:*}: said $(cat "$WORK/bad.log")"
done
pass "refused, exit 1: an unknown user, a missing chroot directory"
checks=$((checks + 1))

: >"$WORK/proxy.log"
conf=$WORK/proxy.conf
printf 'listen web 127.0.0.1:0\n  server %s\n' "$ECHO_ADDR" >"$conf" && chmod 644 "$conf"
start proxy "$PROXY" --user "$user" -c "$conf"
PROXY_PID=$LAST_PID
PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
# Port 1: a bind below 1024 is refused for want of the privilege before
# any look at who holds the port, so no fixed port is taken or needed.
printf 'listen low 127.0.0.1:1\n  server %s\n' "$ECHO_ADDR" >>"$conf"
kill -HUP "$PROXY_PID"
wait_for "$WORK/proxy.log" 'reload refused' >/dev/null
grep -q 'cannot listen on 127.0.0.1:1: .*Permission denied' "$WORK/proxy.log" || fail "no EACCES line"
grep -q "privileges were dropped at the start to $user: a new LOCAL on a port below 1024 needs a restart" \
  "$WORK/proxy.log" || fail "the EACCES is not explained"
relays "after the refused reload"
stop_proxy
pass "a reload adding 127.0.0.1:1 after the drop: refused, EACCES explained, the old listener serves"
checks=$((checks + 1))

PROXY_ADDR=
: >"$WORK/proxy.log"
start_proxy --threads 2 --keep-cap net_admin "$ECHO_ADDR"
wait_for "$WORK/proxy.log" 'running as uid 0, kept CAP_NET_ADMIN' >/dev/null
every_task "$PROXY_PID" Uid "0 0 0 0" >/dev/null
n=$(every_task "$PROXY_PID" CapEff 0000000000001000)
relays "--keep-cap net_admin as root"
stop_proxy
pass "--keep-cap net_admin without --user: uid 0, CapEff 0x1000 in all $n threads, relays"
checks=$((checks + 1))

as_user=(setpriv --reuid "$uid" --regid "$gid" --init-groups)
if "${as_user[@]}" test -x "$PROXY"; then
  : >"$WORK/proxy.log"
  start proxy "${as_user[@]}" "$PROXY" --user "$user" 127.0.0.1:0 "$ECHO_ADDR"
  PROXY_PID=$LAST_PID
  PROXY_ADDR=$(wait_for "$WORK/proxy.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
  grep -q "running as $user " "$WORK/proxy.log" || fail "already $user: $(cat "$WORK/proxy.log")"
  relays "already $user, --user $user"
  stop_proxy
  for bad in "--keep-cap net_admin:capset CAP_NET_ADMIN: Operation not permitted" \
             "--user root:setgroups root: Operation not permitted"; do
    rc=0
    timeout 10 "${as_user[@]}" "$PROXY" ${bad%%:*} 127.0.0.1:0 "$ECHO_ADDR" >"$WORK/bad.log" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "as $user, ${bad%%:*}: exit $rc, want 1"
    grep -q "${bad#*:}" "$WORK/bad.log" || fail "as $user, ${bad%%:*}: said $(cat "$WORK/bad.log")"
  done
  pass "started as $user: --user $user serves; --keep-cap without the capability and --user root refused"
  checks=$((checks + 1))
else
  echo "note: $PROXY is not reachable by $user: the unprivileged start is not checked here"
fi

# unix_relays PATH: a checksummed transfer through the Unix LOCAL PATH.
unix_relays() { timeout 20 "$PUSH" -n 1M -c 2 -t 15 "$1" >"$WORK/push.log" 2>&1 ||
  fail "through $1: does not relay: $(cat "$WORK/push.log")"; }
# local_removed WHAT PATH OPTIONS...: the proxy serves the Unix LOCAL PATH
# with OPTIONS, and its file is gone once it exits on SIGTERM.
local_removed() {
  local what=$1 path=$2; shift 2
  : >"$WORK/proxy.log"
  start proxy "$PROXY" "$@" "$path" "$ECHO_ADDR"
  PROXY_PID=$LAST_PID
  wait_for "$WORK/proxy.log" "running as $user " >/dev/null
  [ -S "$path" ] || fail "$what: no socket at $path"
  unix_relays "$path"
  stop_proxy
  [ ! -e "$path" ] || fail "$what: $path is left after the exit: $(tail -3 "$WORK/proxy.log")"
}
mine=$WORK/mine && mkdir "$mine" && chown "$user" "$mine"
local_removed "--user --chroot" "$mine/local.sock" --user "$user" --chroot "$jail"
sticky=$WORK/sticky && mkdir "$sticky" && chmod 1777 "$sticky"
local_removed "--user, sticky directory" "$sticky/local.sock" --user "$user"
theirs=$WORK/theirs && mkdir "$theirs" && chmod 755 "$theirs"
rc=0
timeout 10 "$PROXY" --user "$user" "$theirs/local.sock" "$ECHO_ADDR" >"$WORK/bad.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--user with a LOCAL in a directory $user may not write: exit $rc, want 1"
grep -qF -- "--user $user: $theirs/local.sock could not be removed at exit: $user may not write its directory" \
  "$WORK/bad.log" || fail "--user, LOCAL in a directory of root's: said $(cat "$WORK/bad.log")"
[ ! -e "$theirs/local.sock" ] || fail "the refused start left $theirs/local.sock"
pass "a Unix LOCAL is removed at exit after --user --chroot and in a sticky directory; one $user could not remove is refused, exit 1, no file left"
checks=$((checks + 1))

# with_control NAME CTL OPTIONS...: a proxy with --control CTL and
# OPTIONS (--user U among them), up; its socket is root's, mode 0600.
with_control() {
  local name=$1 ctl=$2; shift 2
  start "$name" "$PROXY" --control "$ctl" "$@" 127.0.0.1:0 "$ECHO_ADDR"
  PROXY_PID=$LAST_PID
  PROXY_ADDR=$(wait_for "$WORK/$name.log" 'relaying ' | sed -E 's/.*relaying ([^ ]+) .*/\1/')
  wait_for "$WORK/$name.log" "running as $user " >/dev/null
  [ "$(stat -c %U:%a "$ctl" 2>&1)" = root:600 ] || fail "$name: $ctl: $(stat -c %U:%a "$ctl" 2>&1), want root:600"
}
# refused_start WANT COMMAND...: exit 1, saying WANT.
refused_start() {
  local want=$1 rc=0; shift
  timeout 10 "$@" >"$WORK/bad.log" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "$*: exit $rc, want 1 ($(cat "$WORK/bad.log"))"
  grep -qF -- "$want" "$WORK/bad.log" || fail "$*: said \"$(cat "$WORK/bad.log")\", want \"$want\""
}
with_control ctl_chroot "$mine/ctl.sock" --user "$user" --chroot "$jail"
stop_proxy
[ ! -e "$mine/ctl.sock" ] || fail "--user --chroot: $mine/ctl.sock is left after the exit"
ctl=$theirs/ctl.sock
with_control ctl_root "$ctl" --user "$user"
stop_proxy
[ -S "$ctl" ] || fail "--user, root's directory: $ctl removed, yet $user may not write there"
grep -qF "control socket $ctl left at exit: Permission denied (the next start replaces it)" \
  "$WORK/ctl_root.log" || fail "the control socket left is not said: $(tail -3 "$WORK/ctl_root.log")"
with_control ctl_again "$ctl" --user "$user"
relays "the start after a control socket was left"
refused_start "rsock-proxy: --control $ctl: another proxy answers there (stop it, or replace it with --takeover $ctl)" \
  "$PROXY" --control "$ctl" 127.0.0.1:0 "$ECHO_ADDR"
stop_proxy
pass "--control: removed at exit after --user --chroot; left by --user in root's directory (said), replaced by the next start; refused while a proxy answers there"
checks=$((checks + 1))
if "${as_user[@]}" test -x "$PROXY"; then
  refused_start "rsock-proxy: --control $ctl: cannot tell whether a proxy answers there: Permission denied" \
    "${as_user[@]}" "$PROXY" --control "$ctl" 127.0.0.1:0 "$ECHO_ADDR"
  chown "$user" "$ctl" # connect(2) now says refused: a stale socket $user may not remove
  refused_start "rsock-proxy: --control $ctl: a socket nobody answers on is there and cannot be removed: Permission denied" \
    "${as_user[@]}" "$PROXY" --control "$ctl" 127.0.0.1:0 "$ECHO_ADDR"
  [ -S "$ctl" ] || fail "a refused start removed $ctl"
  pass "started as $user: --control on root's socket, and on a stale one $user may not remove, refused"
  checks=$((checks + 1))
fi

echo "$checks passed, 0 failed"
