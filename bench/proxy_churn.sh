#!/usr/bin/env bash
# rsock-proxy's memory under a long run of short connections (issue 16):
# tests/test_proxy_churn.sh, by default with the count CI runs too,
# 1,000,000 connections 64 at a time.  Prints the rate, the resident memory
# after the first 100,000 and at the end, and fails if memory grew by 10%
# or more or a connection was left open.  A sanitizer build's memory grows
# with every connection by design (AddressSanitizer quarantines what is
# freed): its figures say nothing about the proxy, so it is refused.
# usage: bench/proxy_churn.sh [BUILD_DIR] [TOTAL]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if grep -q 'RSOCK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "bench/proxy_churn.sh: $build is a sanitizer build (RSOCK_SANITIZE=ON): its memory grows by design; use a release build" >&2
  exit 2
fi
RSOCK_BUILD=$build PROXY_CHURN_TOTAL=${2:-1000000} exec bash tests/test_proxy_churn.sh
