#!/usr/bin/env bash
# deploy/ against the code: test_deploy_files.py parses the compose and Kubernetes
# YAML (python3-yaml) and checks every image, port, config key, metric name, topic,
# group and timeout they use, and that the README's build commands are the
# Dockerfile's. Then, where the tools exist: the Kustomize base renders
# (kubectl kustomize), and the compose stack's make-certs.sh gives a certificate
# that herald listen serves and libcurl (as herald-webhookd) verifies for
# hooks.compose.test through the CA.
set -euo pipefail
src=${HERALD_SOURCE_DIR:?}
bindir=${HERALD_BIN_DIR:?}
tmp=${HERALD_TEST_TMP:?}
mkdir -p "$tmp"

py=
for p in /usr/bin/python3 python3; do
        if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "FAIL: python3 with yaml missing (python3-yaml, deploy/install-deps.sh)"; exit 1; }
"$py" "$src/tests/integration/test_deploy_files.py" "$src" --loadable "$tmp/conf"

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done' EXIT
# Waits up to $3 s for a complete line matching $2 in file $1.
wait_line() {
        local i
        for ((i = 0; i < $3 * 10; i++)); do
                if grep -Eq "$2" "$1" 2>/dev/null && [ -z "$(tail -c1 "$1")" ]; then return 0; fi
                sleep 0.1  # polling a file for a condition
        done
        return 1
}

# The real config loader on every deploy config (kafka and registry pointed at a
# dev stack through HERALD_BOOTSTRAP / HERALD_REGISTRY_URL, secrets from dummy
# variables), and the compose stack's subscriptions through the real validator.
state=$tmp/dev
rm -rf "$state"; mkdir -p "$state"
"$bindir/herald" dev --state-dir "$state" >"$state/out" 2>"$state/dev.log" &
pids+=($!)
wait_line "$state/out" "herald dev: ready" 90 || { cat "$state/dev.log"; echo "FAIL: herald dev"; exit 1; }
set -a; . "$state/env"; set +a
for c in "$tmp"/conf/*; do
        out=$(SMTP_PASSWORD=dummy "$bindir/herald-sub" --config "$c" list 2>&1) ||
                { echo "FAIL: $(basename "$c" | tr _ /): refused by the config loader: $out"; exit 1; }
done
echo "config loader: $(ls "$tmp/conf" | tr _ / | tr '\n' ' ')accepted"
for f in "$src"/deploy/compose/subscriptions/*.json; do
        out=$("$bindir/herald-sub" --config "$tmp/conf/deploy_compose_herald.conf" create --file "$f" 2>&1) ||
                { echo "FAIL: $f refused: $out"; exit 1; }
done
echo "compose subscriptions: $(ls "$src"/deploy/compose/subscriptions | tr '\n' ' ')valid"

if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
        kubectl kustomize "$src/deploy/k8s/base" >"$tmp/k8s.yaml"
        "$py" - "$tmp/k8s.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted({d["kind"] for d in docs})
cms = [d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"]
refs = {v["configMap"]["name"] for d in docs if d["kind"] == "Deployment"
        for v in d["spec"]["template"]["spec"].get("volumes", []) if "configMap" in v}
imgs = {c["image"] for d in docs if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]}
assert refs and refs <= set(cms), f"Deployments mount {refs}, generated {cms}"
assert all(":" in i for i in imgs), f"unpinned images after kustomize: {imgs}"
print(f"kustomize: {len(docs)} objects ({', '.join(kinds)}), images {sorted(imgs)}")
PY
else
        echo "SKIPPED (kubectl kustomize): kubectl is not installed here"
fi

# The compose demo's certificates, served by herald listen and verified by libcurl.
certs=$tmp/certs
rm -rf "$certs"; mkdir -p "$certs"
sh "$src/deploy/compose/make-certs.sh" "$certs" >/dev/null
secret=$(sed -n 's/.*"\(whsec_[A-Za-z0-9+\/=]*\)".*/\1/p' "$src/deploy/compose/subscriptions/webhook.json")
grep -q -- "\"$secret\"" "$src/deploy/compose/compose.yaml" ||
        { echo "FAIL: compose.yaml's herald listen does not verify with the subscription's secret"; exit 1; }
"$bindir/herald-listen" --listen 127.0.0.1:0 --cert "$certs/server.pem" --key "$certs/server-key.pem" \
        --secret "$secret" >"$tmp/listen.out" 2>"$tmp/listen.log" &
pid=$!
pids+=($pid)
for _ in $(seq 100); do
        grep -q "listening on" "$tmp/listen.out" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1  # waiting for the readiness line
done
port=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/listen.out")
[ -n "$port" ] || { cat "$tmp/listen.log"; echo "FAIL: herald listen did not start with the compose certificate"; exit 1; }
code=$(curl -sS --cacert "$certs/ca.pem" --connect-to "hooks.compose.test:443:127.0.0.1:$port" \
        -o /dev/null -w '%{http_code}' -X POST -d '{}' https://hooks.compose.test/herald) ||
        { echo "FAIL: TLS to hooks.compose.test with the compose CA failed"; exit 1; }
[ "$code" = 401 ] || { echo "FAIL: unsigned request answered $code, want 401"; exit 1; }
echo "compose certificates: verified TLS to hooks.compose.test, unsigned request refused (401)"
