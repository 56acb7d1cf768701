#!/usr/bin/env bash
# produce.sh [EVENTS] [ROUNDS]: events/s to the dev broker through the C API
# (libherald) and through `herald produce` (JSON lines), each against kcat producing
# the same already-encoded frames with the same keys, partitioner, idempotence and
# acks, in the same run against the same `herald dev` stack. The machine is shared,
# so the runs alternate (kcat, C API, kcat, CLI, kcat, C API cold, kcat, C API
# setters, ...) for ROUNDS
# rounds and every ratio is taken against the mean of the kcat runs either side of
# it; the median and the range over the rounds are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
rounds=${2:-5}
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

now() { date +%s.%N; }
rate() { python3 -c "print('%.0f' % ($n / ($2 - $1)))"; }

# CPU seconds the mock cluster's thread has used so far (it serves every broker).
mock_cpu() {
  local t s=0
  for t in /proc/"$dev_pid"/task/*; do
    [ "$(cat "$t/comm")" = rdk:mock ] && s=$(awk '{print $14 + $15}' "$t/stat")
  done
  python3 -c "print('%.2f' % ($s / $(getconf CLK_TCK)))"
}

# kcat with what libherald always sets: idempotence (so acks=all, at most 5 in
# flight, retries without duplicates) and the murmur2_random partitioner.
kcat_run() {
  local t0 t1
  t0=$(now)
  kcat -P -b "$HERALD_BOOTSTRAP" -t billing.events.ordered -K '@@K@@' -D '@@HERALD-MSG@@' \
       -X partitioner=murmur2_random -X enable.idempotence=true -X acks=all <"$work/frames.bin"
  t1=$(now)
  rate "$t0" "$t1"
}
# The C API: DISTINCT events built before the clock, then n herald_emit + flush.
api_run() { # DISTINCT [--setters]
  "$bin/bench_produce" ${2:-} "$work/events.jsonl" "$1" |
    sed -n 's/c_api_events_per_s=\([0-9]*\).*/\1/p'
}
cli_run() {
  local t0 t1
  t0=$(now)
  "$bin/herald" produce --file "$work/events.jsonl" 2>/dev/null
  t1=$(now)
  rate "$t0" "$t1"
}

declare -a r_api r_cli r_cold r_set all_k rates_api rates_cli rates_cold rates_set
k=$(kcat_run); all_k+=("$k")
for r in $(seq "$rounds"); do
  m0=$(mock_cpu)
  a=$(api_run 1000); k2=$(kcat_run); r_api+=("$(python3 -c "print($a / (($k + $k2) / 2))")")
  echo "round $r: kcat $k, c_api $a, kcat $k2" >&2
  k=$k2; all_k+=("$k")
  c=$(cli_run); k2=$(kcat_run); r_cli+=("$(python3 -c "print($c / (($k + $k2) / 2))")")
  echo "round $r: cli $c, kcat $k2" >&2
  k=$k2; all_k+=("$k")
  d=$(api_run 0); k2=$(kcat_run); r_cold+=("$(python3 -c "print($d / (($k + $k2) / 2))")")
  echo "round $r: c_api_cold $d, kcat $k2 (mock thread: $(python3 -c "print('%.2f' % ($(mock_cpu) - $m0))") s CPU this round for $((6 * n)) events)" >&2
  k=$k2; all_k+=("$k")
  e=$(api_run 1000 --setters); k2=$(kcat_run); r_set+=("$(python3 -c "print($e / (($k + $k2) / 2))")")
  echo "round $r: c_api_setters $e, kcat $k2" >&2
  k=$k2; all_k+=("$k")
  rates_api+=("$a"); rates_cli+=("$c"); rates_cold+=("$d"); rates_set+=("$e")
done

summary() { # name target scale values...
  python3 - "$@" <<'PY'
import statistics, sys
name, target, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
v = [float(x) / scale for x in sys.argv[4:]]
print("%s median=%.2f min=%.2f max=%.2f%s" % (name, statistics.median(v), min(v), max(v),
      " (target >= %s)" % target if target != "-" else ""))
PY
}
echo "events=$n rounds=$rounds"
summary "kcat_events_per_s (x1000)" - 1000 "${all_k[@]}"
summary "c_api_events_per_s (x1000)" - 1000 "${rates_api[@]}"
summary "cli_events_per_s (x1000)" - 1000 "${rates_cli[@]}"
summary "c_api_cold_events_per_s (x1000)" - 1000 "${rates_cold[@]}"
summary "c_api_setters_events_per_s (x1000)" - 1000 "${rates_set[@]}"
summary "c_api_ratio" 0.8 1 "${r_api[@]}"
summary "cli_ratio" 0.5 1 "${r_cli[@]}"
summary "c_api_cold_ratio" - 1 "${r_cold[@]}"
summary "c_api_setters_ratio" - 1 "${r_set[@]}"
