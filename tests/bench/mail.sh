#!/usr/bin/env bash
# mail.sh [EVENTS] [CONCURRENCY] [ROUNDS]: messages/s of one herald-maild to Postfix's
# smtp-sink, against smtp-source sending the very message herald sends (same size,
# same concurrency, connections kept open) to the same sink, in alternating rounds
# of the same run. Defaults: 20000 events, 4 connections, 3 rounds each.
# MAIL_BENCH_PERF=DIR records each herald round with `perf record` into DIR
# (MAIL_BENCH_PERF_ARGS, default -g); MAIL_BENCH_EMAIL="workers = 4;" adds settings
# to the email group of herald's config; HERALD_MAILD=PATH runs another herald-maild
# binary against the same stack (before/after comparisons).
#
# Set-up here: its own `herald dev`, one e-mail subscription (one recipient rendered
# from a token), EVENTS service events over 1000 accounts on the ordered topic, produced
# once. The rounds are run by mail_bench.py: each herald round is a fresh consumer
# group reading the same EVENTS records from the start.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
conc=${2:-4}
rounds=${3:-3}
bin=$PWD/build/bin
work=$(mktemp -d /tmp/herald-bench-mail.XXXXXX)
chmod 755 "$work" # smtp-sink drops to nobody and writes its capture here
dev_pid=
trap '[ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null ||
  { echo "mail.sh: smtp-sink/smtp-source missing (deploy/install-deps.sh --bench)" >&2; exit 1; }

"$bin/herald" dev --state-dir "$work/dev" >"$work/dev.out" 2>"$work/dev.err" &
dev_pid=$!
for _ in $(seq 600); do grep -q "herald dev: ready" "$work/dev.out" && break; sleep 0.1; done
grep -q "herald dev: ready" "$work/dev.out" || { cat "$work/dev.err" >&2; exit 1; }
set -a; . "$work/dev/env"; set +a
export HERALD_CONFIG=$work/dev/herald.conf

# The subscription the rounds deliver (the dev profile "dev" exists in herald.conf;
# mail_bench.py writes each round's config with a "dev" profile pointing at its sink).
"$bin/herald" sub create --file - >/dev/null <<'JSON'
{ "id": "bench-mail", "channel": "email", "event_types": ["account.service.state_changed"],
  "email": { "profile": "dev", "to": ["{{account.billing_email}}"],
    "subject": "{{service.name}} is now {{service.to_state}}",
    "text": "Hello {{account.name}},\n\nyour service {{service.name}} ({{service.identifier}}) changed from {{service.from_state}} to {{service.to_state}}.\n",
    "html": "<p>Hello {{account.name}},</p><p>your service <b>{{service.name}}</b> changed from {{service.from_state}} to <b>{{service.to_state}}</b>.</p>" } }
JSON

python3 - "$n" >"$work/events.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    a = i % 1000
    print(json.dumps({"type": "account.service.state_changed", "account_id": "ACC-%d" % a,
        "data": {"account": {"name": "Account %d" % a, "billing_email": "ap%d@bench.test" % a},
                 "service": {"id": "SVC-%d" % i, "name": "Fibre line %d" % i,
                             "identifier": "CIRCUIT-%06d" % i,
                             "from_state": "provisioning", "to_state": "active"}}},
        separators=(",", ":")))
PY
"$bin/herald" produce --file "$work/events.jsonl" 2>/dev/null

python3 tests/bench/mail_bench.py --bin "$bin" --work "$work" --events "$n" \
  --concurrency "$conc" --rounds "$rounds" ${MAIL_BENCH_PERF:+--perf "$MAIL_BENCH_PERF"}
