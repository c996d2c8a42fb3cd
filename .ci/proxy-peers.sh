#!/usr/bin/env bash
# CI for rsock-proxy's PROXY protocol against real peers (issue 14, item 8):
# haproxy, beyond .ci/run's packages (nginx-light and curl are there), for
# tests/test_proxy_pp_*.sh.  The package would start a system-wide haproxy;
# the tests start their own on loopback, so services stay off meanwhile.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
apt-get install -y -qq --no-install-recommends haproxy >/dev/null
[ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
haproxy -v | sed -n 1p # sed reads to the end: head would leave haproxy a SIGPIPE (141 under pipefail)
