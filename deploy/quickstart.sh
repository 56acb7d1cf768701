#!/usr/bin/env bash
# quickstart.sh: herald's main job end to end on the embedded defaults.
# Installs what is missing, builds, starts `herald dev` (mock Kafka + herald-registry),
# creates the dev subscriptions (deploy/dev/subscriptions/), starts `herald listen`
# (an HTTPS receiver verifying signatures) and herald-webhookd, produces the sample
# events (deploy/dev/sample-events.jsonl) through `herald produce`, reads them back
# decoded with `herald tail`, shows the verified webhook deliveries arriving, and
# stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh release
bin=$PWD/build/bin
state=$(mktemp -d /tmp/herald-quickstart.XXXXXX)
sample=deploy/dev/sample-events.jsonl

dev_pid= listen_pid= whd_pid=
stop() { # stop PID: SIGTERM and wait; true when it exited 0
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"; wait "$1"
}
cleanup() {
  stop "$whd_pid" || true; stop "$listen_pid" || true; stop "$dev_pid" || true
  rm -rf "$state"
}
wait_line() { # wait_line FILE TEXT PID: up to 60 s for TEXT in FILE while PID lives
  for _ in $(seq 600); do
    grep -q "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "$2" "$1"
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
secrets=()
for f in deploy/dev/subscriptions/*.json; do
  "$bin/herald" sub --config "$state/herald.conf" create --file "$f" >"$state/created"
  echo "   created $(basename "$f" .json)"
  # A webhook secret is generated and shown once: the receiver needs it to verify.
  s=$(sed -n 's/^webhook secret (shown once, store it now): //p' "$state/created")
  [ -z "$s" ] || secrets+=(--secret "$s")
done
"$bin/herald" sub --config "$state/herald.conf" list | sed 's/^/   /'

echo "== starting the receiver: herald listen (HTTPS with the dev certificate, verifies signatures)"
"$bin/herald" listen --listen 127.0.0.1:0 --cert "$HERALD_DEV_CERT" --key "$HERALD_DEV_KEY" \
  "${secrets[@]}" --out "$state/deliveries.jsonl" >"$state/listen.out" 2>"$state/listen.log" &
listen_pid=$!
wait_line "$state/listen.out" "listening on" "$listen_pid" ||
  { echo "herald listen failed:"; cat "$state/listen.log"; exit 1; }
port=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$state/listen.out")
sed 's/^/   /' "$state/listen.out"

# The dev subscriptions point at *.dev.test on port 443; in dev, curl's CONNECT_TO
# sends those to the local receiver, and the dev CA is trusted (never in production).
cp "$state/herald.conf" "$state/webhookd.conf"
cat >>"$state/webhookd.conf" <<CONF
webhook = { metrics_listen = "127.0.0.1:0"; tls = { ca_file = "$HERALD_DEV_CA"; };
  connect_to = [ "hooks.dev.test:443:127.0.0.1:$port", "finance.dev.test:443:127.0.0.1:$port" ]; };
CONF
echo "== starting herald webhookd (consumer group herald-webhookd)"
"$bin/herald" webhookd --config "$state/webhookd.conf" >"$state/whd.out" 2>"$state/whd.log" &
whd_pid=$!
wait_line "$state/whd.out" "consuming as group" "$whd_pid" ||
  { echo "herald webhookd failed:"; cat "$state/whd.log"; exit 1; }
sed 's/^/   /' "$state/whd.out"

n=$(grep -c . "$sample")
echo "== producing $n sample events with: herald produce --file $sample"
"$bin/herald" produce --file "$sample"

echo "== reading them back, decoded: herald tail --events-only"
"$bin/herald" tail --events-only | tee "$state/events.jsonl"
got=$(grep -c . "$state/events.jsonl")
echo "== $got of $n events read back and decoded"

# Webhook deliveries expected: one per (event, matching webhook subscription).
want=$(python3 - "$state/events.jsonl" deploy/dev/subscriptions/*.json <<'PY'
import fnmatch, json, sys
subs = [json.load(open(f)) for f in sys.argv[2:]]
pats = [s["event_types"] for s in subs if s["channel"] == "webhook"]
n = 0
for line in open(sys.argv[1]):
    t = json.loads(line)["type"]
    n += sum(any(t == p or (p.endswith(".*") and t.startswith(p[:-1])) for p in ps) for ps in pats)
print(n)
PY
)
echo "== waiting for the $want webhook deliveries, verified by herald listen"
for _ in $(seq 600); do
  [ "$(grep -c '"valid":true' "$state/deliveries.jsonl" 2>/dev/null || true)" -ge "$want" ] && break
  sleep 0.1
done
python3 - "$state/deliveries.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    print("   %-4s %-34s account=%-8s signature %s" % (d["status"], d["type"], d.get("account") or "-",
          "verified" if d["valid"] else "INVALID: " + str(d.get("error"))))
PY
delivered=$(grep -c '"valid":true' "$state/deliveries.jsonl" || true)
echo "== $delivered of $want webhook deliveries arrived with a valid signature"

echo "== stopping herald webhookd, herald listen and herald dev"
stop "$whd_pid" || { echo "herald webhookd did not stop cleanly"; exit 1; }; whd_pid=
stop "$listen_pid" || true; listen_pid=
rc=0; stop "$dev_pid" || rc=$?; dev_pid=
[ "$rc" = 0 ] || { echo "herald dev exited $rc"; exit 1; }
[ "$got" = "$n" ] || { echo "expected $n events, got $got"; exit 1; }
[ "$delivered" = "$want" ] || { echo "expected $want verified deliveries, got $delivered"; exit 1; }
echo "== done: everything stopped cleanly"
