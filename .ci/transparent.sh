#!/usr/bin/env bash
# nftables for the transparent-mode tests: test_original_dst (SO_ORIGINAL_DST
# under a real redirect) and test_proxy_transparent.sh (rsock-proxy behind
# nftables redirect and tproxy, between network namespaces).  iproute2 for
# `ip netns`, veth pairs and policy routing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends nftables iproute2 >/dev/null
nft --version
