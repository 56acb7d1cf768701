#!/usr/bin/env bash
# run.sh: builds the release tree and runs every benchmark, each printing its
# same-run baseline and ratio. Not part of ctest.
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/install-deps.sh --bench
deploy/build.sh release >/dev/null
echo "== serde: herald encode+decode vs plain avro-c generic (same records, same run)"
build/bin/bench_serde deploy/dev/sample-events.jsonl "${SERDE_ITERATIONS:-300000}"
echo "== produce: C API and herald produce vs kcat on the same encoded events (same run)"
tests/bench/produce.sh "${PRODUCE_EVENTS:-100000}" "${PRODUCE_ROUNDS:-5}"
echo "== mail: herald-maild vs smtp-source, same message, same concurrency, same smtp-sink (same run)"
tests/bench/mail.sh "${MAIL_EVENTS:-20000}" "${MAIL_CONCURRENCY:-4}" "${MAIL_ROUNDS:-3}"
echo "== webhook: herald-webhookd throughput vs wrk, ordered concurrency, memory behind a down endpoint"
tests/bench/webhook.sh all
