#!/usr/bin/env bash
# rsock-proxy's memory under a long run of short connections (issue 16):
# tests/test_proxy_churn.sh with its full count, 1,000,000 connections 64 at
# a time (CI runs the same test with fewer, see the test's header).  Prints
# the rate, the resident memory after the first tenth and at the end, and
# fails if memory grew by 10% or more or a connection was left open.
# usage: bench/proxy_churn.sh [BUILD_DIR] [TOTAL]
set -euo pipefail
cd "$(dirname "$0")/.."
RSOCK_BUILD=${1:-build} PROXY_CHURN_TOTAL=${2:-1000000} exec bash tests/test_proxy_churn.sh
