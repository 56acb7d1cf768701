#!/usr/bin/env bash
# run.sh FUZZER CORPUS_DIR SECONDS: runs a libFuzzer target for SECONDS on a scratch
# copy of its seed corpus (the checked-in corpus never changes under a test run).
set -euo pipefail
fuzzer=$1 corpus=$2 secs=$3
work=${HERALD_TEST_TMP:-$(mktemp -d)}/corpus
rm -rf "$work"; mkdir -p "$work"
[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 "$work"
