#!/usr/bin/env bash
# CI: ThreadSanitizer (clang) over the multi-thread tests: make tsan builds
# build-tsan with -fsanitize=thread and runs every test that starts threads
# (and any test_chan*, test_thread*, test_offload*), stopping at the first
# report.  Address-space randomization is off for the run: LLVM 14's TSan
# cannot map its shadow on kernels with more than 28 random mmap bits.
# TSAN_EXCLUDE (a regex, empty by default) leaves tests out.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev util-linux >/dev/null
setarch "$(uname -m)" -R make tsan TSAN_EXCLUDE="${TSAN_EXCLUDE:-}"
