#!/usr/bin/env bash
# CI: what the operations tests of rsock-proxy need beyond .ci/run's list:
# systemd-socket-activate (Debian's systemd package), for
# test_proxy_activation.  The package is only installed, never started.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends systemd >/dev/null
command -v systemd-socket-activate >/dev/null
