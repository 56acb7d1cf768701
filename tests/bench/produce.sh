#!/usr/bin/env bash
# produce.sh [EVENTS]: events/s to the dev broker through the C API (libherald)
# and through `herald produce` (JSON lines), each against kcat producing the same
# already-encoded frames with the same keys, partitioner and idempotence, in the
# same run against the same `herald dev` stack.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
bin=$PWD/build/bin
work=$(mktemp -d /tmp/herald-bench.XXXXXX)
dev_pid=
trap '[ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

"$bin/herald" dev --state-dir "$work/dev" >"$work/dev.out" 2>"$work/dev.err" &
dev_pid=$!
for _ in $(seq 600); do grep -q "herald dev: ready" "$work/dev.out" && break; sleep 0.1; done
set -a; . "$work/dev/env"; set +a
export HERALD_CONFIG=$work/dev/herald.conf

# n events: the sample types over 1000 accounts, so keys spread over partitions.
python3 - "$n" deploy/dev/sample-events.jsonl >"$work/events.jsonl" <<'PY'
import json, sys
n, lines = int(sys.argv[1]), [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
for i in range(n):
    ev = dict(lines[i % len(lines)])
    if ev.get("account_id"):
        ev["account_id"] = "ACC-%d" % (i % 1000)
    print(json.dumps(ev, separators=(",", ":")))
PY
"$bin/bench_produce" --encode "$work/events.jsonl" "$work/frames.bin"

kcat_rate() {
  local t0 t1
  t0=$(date +%s.%N)
  kcat -P -b "$HERALD_BOOTSTRAP" -t billing.events.ordered -K '@@K@@' -D '@@HERALD-MSG@@' \
       -X partitioner=murmur2_random -X enable.idempotence=true <"$work/frames.bin"
  t1=$(date +%s.%N)
  python3 -c "print('%.0f' % ($n / ($t1 - $t0)))"
}

k1=$(kcat_rate)
api=$("$bin/bench_produce" "$work/events.jsonl" | sed -n 's/c_api_events_per_s=\([0-9]*\).*/\1/p')
t0=$(date +%s.%N)
"$bin/herald" produce --file "$work/events.jsonl" 2>/dev/null
t1=$(date +%s.%N)
cli=$(python3 -c "print('%.0f' % ($n / ($t1 - $t0)))")
k2=$(kcat_rate)
kcat=$(( (k1 + k2) / 2 ))
echo "events=$n kcat_events_per_s=$kcat (runs: $k1, $k2)"
echo "c_api_events_per_s=$api ratio=$(python3 -c "print('%.2f' % ($api / $kcat))") (target >= 0.8)"
echo "cli_events_per_s=$cli ratio=$(python3 -c "print('%.2f' % ($cli / $kcat))") (target >= 0.5)"
