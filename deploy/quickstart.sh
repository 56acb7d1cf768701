#!/usr/bin/env bash
# quickstart.sh: herald's main job end to end on the embedded defaults.
# Installs what is missing, builds, starts `herald dev` (mock Kafka + herald-registry),
# creates the dev subscriptions (deploy/dev/subscriptions/), produces the sample
# events (deploy/dev/sample-events.jsonl) through `herald produce`, reads them back
# decoded with `herald tail`, and stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh release
bin=$PWD/build/bin
state=$(mktemp -d /tmp/herald-quickstart.XXXXXX)
sample=deploy/dev/sample-events.jsonl

dev_pid=
cleanup() {
  if [ -n "$dev_pid" ] && kill -0 "$dev_pid" 2>/dev/null; then
    kill -TERM "$dev_pid"; wait "$dev_pid" || true
  fi
  rm -rf "$state"
}
trap cleanup EXIT

echo "== starting herald dev (state in $state)"
"$bin/herald" dev --state-dir "$state" >"$state/out" 2>"$state/dev.log" &
dev_pid=$!
# Wait (up to 60 s) for the readiness line, or for herald dev to die.
for _ in $(seq 600); do
  grep -q "herald dev: ready" "$state/out" && break
  kill -0 "$dev_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "herald dev: ready" "$state/out" || { echo "herald dev failed:"; cat "$state/dev.log"; exit 1; }
sed 's/^/   /' "$state/out"
set -a; . "$state/env"; set +a

echo "== creating the dev subscriptions (deploy/dev/subscriptions/*.json) with: herald sub create"
for f in deploy/dev/subscriptions/*.json; do
  "$bin/herald" sub --config "$state/herald.conf" create --file "$f" >/dev/null
  echo "   created $(basename "$f" .json)"
done
"$bin/herald" sub --config "$state/herald.conf" list | sed 's/^/   /'

n=$(grep -c . "$sample")
echo "== producing $n sample events with: herald produce --file $sample"
"$bin/herald" produce --file "$sample"

echo "== reading them back, decoded: herald tail --events-only"
"$bin/herald" tail --events-only | tee "$state/events.jsonl"
got=$(grep -c . "$state/events.jsonl")
echo "== $got of $n events read back and decoded"

echo "== stopping herald dev"
kill -TERM "$dev_pid"; rc=0; wait "$dev_pid" || rc=$?; dev_pid=
[ "$rc" = 0 ] || { echo "herald dev exited $rc"; exit 1; }
[ "$got" = "$n" ] || { echo "expected $n events, got $got"; exit 1; }
echo "== done: herald dev stopped cleanly"
