#!/usr/bin/env bash
# CI: rsock-proxy's /metrics read by Prometheus' own tools (issue 14, item 7).
# Installs Debian's prometheus package (promtool and the server), builds, and
# runs tests/test_proxy_metrics_prom.sh: curl through rsock-proxy --metrics
# to a loopback nginx, `promtool check metrics` on the exposition, then a
# real prometheus on loopback scraping it for a few seconds, asked through
# its HTTP API whether the scrapes succeeded and what it stored.
# It runs before `make test`, so that ctest's own run of the same script
# finds promtool (under CI a skipped test is a failure: tools/skipped.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# The package would start a system-wide prometheus on port 9090; the test
# starts its own, so keep services off while installing.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
apt-get install -y -qq --no-install-recommends prometheus curl jq nginx-light >/dev/null
[ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
promtool --version 2>&1 | sed -n 1p # not head: SIGPIPE under pipefail

build=${BUILD:-build} # CI's; another for a run by hand
make all BUILD="$build"
RSOCK_BUILD=$PWD/$build RSOCK_SOURCE=$PWD bash tests/test_proxy_metrics_prom.sh
