#!/usr/bin/env bash
# CI for the message calls (issue 12): what their tests need beyond .ci/run's
# packages.  ethtool turns transmit checksums off on a veth in test_udp_gso,
# where the kernel may refuse UDP GSO and rsock_send_gso falls back.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends ethtool >/dev/null
