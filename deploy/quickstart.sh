#!/usr/bin/env bash
# quickstart.sh: herald's main job end to end on the embedded defaults.
# Installs what is missing, builds, starts `herald dev` (mock Kafka + herald-registry),
# creates the dev subscriptions (deploy/dev/subscriptions/), starts `herald listen`
# (an HTTPS receiver verifying signatures) with herald-webhookd, and a local SMTP
# server with herald-maild, produces the sample events (deploy/dev/sample-events.jsonl)
# through `herald produce`, reads them back decoded with `herald tail`, shows the
# verified webhook deliveries and the e-mails arriving, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh release
bin=$PWD/build/bin
state=$(mktemp -d /tmp/herald-quickstart.XXXXXX)
sample=deploy/dev/sample-events.jsonl

dev_pid= listen_pid= whd_pid= smtp_pid= maild_pid=
stop() { # stop PID: SIGTERM and wait; true when it exited 0
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"; wait "$1"
}
cleanup() {
  stop "$maild_pid" || true; stop "$smtp_pid" || true
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
echo "== starting a local SMTP server (aiosmtpd; the dev profiles' host) and herald maild"
mkdir "$state/mail"
/usr/bin/python3 tests/support/smtp_server.py serve --dir "$state/mail" --port 0 \
  >"$state/smtp.out" 2>"$state/smtp.log" &
smtp_pid=$!
wait_line "$state/smtp.out" "smtp_server: ready" "$smtp_pid" ||
  { echo "SMTP server failed:"; cat "$state/smtp.log"; exit 1; }
smtp_port=$(sed -n 's/^smtp_server: ready \([0-9]*\).*/\1/p' "$state/smtp.out")
echo "   SMTP server on 127.0.0.1:$smtp_port"
# The dev profiles say port 2525; this run's server took a free port instead.
sed -e "s/port = 2525;/port = $smtp_port;/" \
    -e 's/^email = { profiles/email = { metrics_listen = "127.0.0.1:0"; profiles/' \
    "$state/herald.conf" >"$state/maild.conf"
"$bin/herald" maild --config "$state/maild.conf" >"$state/maild.out" 2>"$state/maild.log" &
maild_pid=$!
wait_line "$state/maild.out" "consuming as group" "$maild_pid" ||
  { echo "herald maild failed:"; cat "$state/maild.log"; exit 1; }
sed 's/^/   /' "$state/maild.out"

echo "== producing $n sample events with: herald produce --file $sample"
"$bin/herald" produce --file "$sample"

echo "== reading them back, decoded: herald tail --events-only"
"$bin/herald" tail --events-only | tee "$state/events.jsonl"
got=$(grep -c . "$state/events.jsonl")
echo "== $got of $n events read back and decoded"

# Deliveries expected: one per (event, matching subscription), per channel.
read -r want want_mail < <(python3 - "$state/events.jsonl" deploy/dev/subscriptions/*.json <<'PY'
import json, sys
subs = [json.load(open(f)) for f in sys.argv[2:]]
events = [json.loads(line)["type"] for line in open(sys.argv[1])]
def matches(t, pats):
    return any(t == p or (p.endswith(".*") and t.startswith(p[:-1])) for p in pats)
print(*(sum(matches(t, s["event_types"]) for t in events for s in subs if s["channel"] == ch)
        for ch in ("webhook", "email")))
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

echo "== waiting for the $want_mail e-mails at the SMTP server"
for _ in $(seq 600); do
  [ "$(ls "$state/mail" | grep -c '\.json$' || true)" -ge "$want_mail" ] && break
  sleep 0.1
done
python3 - "$state/mail" "$state/maild.conf" <<'PY'
import glob, json, re, sys
conf = open(sys.argv[2]).read()
profile = {a: n for n, a in re.findall(r'name = "([^"]+)";[^}]*?from_address = "([^"]+)"', conf)}
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    m = json.load(open(f)); p = m["parsed"]
    frm = p["from"][0]["addr"] if p["from"] else m["mail_from"]
    print("   profile=%-10s to=%-26s subject: %s" % (profile.get(frm, "?"), ",".join(m["rcpt_tos"]), p["subject"]))
PY
mailed=$(ls "$state/mail" | grep -c '\.json$' || true)
echo "== $mailed of $want_mail e-mails arrived"

echo "== stopping herald maild, herald webhookd, the receivers and herald dev"
stop "$maild_pid" || { echo "herald maild did not stop cleanly"; exit 1; }; maild_pid=
stop "$smtp_pid" || true; smtp_pid=
stop "$whd_pid" || { echo "herald webhookd did not stop cleanly"; exit 1; }; whd_pid=
stop "$listen_pid" || true; listen_pid=
rc=0; stop "$dev_pid" || rc=$?; dev_pid=
[ "$rc" = 0 ] || { echo "herald dev exited $rc"; exit 1; }
[ "$got" = "$n" ] || { echo "expected $n events, got $got"; exit 1; }
[ "$delivered" = "$want" ] || { echo "expected $want verified deliveries, got $delivered"; exit 1; }
[ "$mailed" = "$want_mail" ] || { echo "expected $want_mail e-mails, got $mailed"; exit 1; }
echo "== done: everything stopped cleanly"
