#!/usr/bin/env bash
# webhook.sh [throughput|ordered|memory|all]: herald-webhookd benchmarks (issue 4),
# each against a fresh `herald dev` stack with the events produced before the
# daemon starts (Kafka is not what is measured) and receivers on loopback:
#   throughput  deliveries/s to nginx (HTTPS, keep-alive, 204 to POST) vs wrk
#               POSTing a body of the same size with the same headers and the same
#               connection count to the same nginx, same run; target ratio >= 0.5
#   ordered     10,000 events, a receiver answering after a uniform 0..5 ms (nginx
#               with its Lua module; ORDERED_RX=listen: `herald listen --delay-ms
#               0-5`, which also verifies every signature), concurrency 100,
#               keys 1/10/100/10,000 on the ordered topic and once unordered;
#               elapsed (first to last arrival) / ideal, ideal = 10,000 x 2.5 ms /
#               min(keys, 100); target <= 1.5
#   memory      peak RSS while 100,000 events queue behind an endpoint that is down
#               (<= 128 MiB), then everything delivered once it is back
# Environment: WEBHOOK_EVENTS (throughput, 30000), WEBHOOK_CONNS (8), WRK_SECONDS (10),
# ORDERED_EVENTS (10000), ORDERED_KEYS ("1 10 100 10000 unordered"), ORDERED_DELAY (0-5),
# ORDERED_WORKERS (100), ORDERED_RX (nginx|listen), MEMORY_EVENTS (100000); HERALD_WEBHOOKD (another daemon binary,
# for before/after), WHD_KAFKA_EXTRA (kafka settings), WHD_WEBHOOK_EXTRA (webhook settings), DEBUG_METRICS=1, PERF_OUT=FILE.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${HERALD_BIN:-$PWD/build/bin}
tool="python3 $PWD/tests/bench/webhook_tool.py"
what=${1:-all}
work=$(mktemp -d /tmp/herald-whbench.XXXXXX)
secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
dev_pid= rx_pid= whd_pid=
cleanup() {
  for p in $whd_pid $rx_pid $dev_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# wait_for SECONDS CMD...: until CMD succeeds (polling a condition, not a fixed sleep)
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}
has_line() { grep -q "$2" "$1" 2>/dev/null; }

stop() { # stop PIDVAR: SIGTERM, wait
  local p=${!1}
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  printf -v "$1" ''
}

# A fresh mock cluster and registry; the TLS material in $work/dev/tls is kept.
dev_start() { # [CONFIG]
  stop whd_pid; stop rx_pid; stop dev_pid
  rm -f "$work/dev/env"
  "$bin/herald" dev --state-dir "$work/dev" ${1:+--config "$1"} >"$work/dev.out" 2>"$work/dev.err" &
  dev_pid=$!
  wait_for 60 has_line "$work/dev.out" "herald dev: ready" || { cat "$work/dev.err" >&2; exit 1; }
  set -a; . "$work/dev/env"; set +a
}

# Webhookd config: WORKERS MAX_IN_FLIGHT RETRY_SCHEDULE PORT [EXTRA]
whd_conf() {
  cat >"$work/whd.conf" <<EOF
kafka = { bootstrap_servers = "$HERALD_BOOTSTRAP"; ${WHD_KAFKA_EXTRA:-} };
registry = { urls = [ "$HERALD_REGISTRY_URL" ]; };
log = { level = "${WHD_LOG_LEVEL:-warn}"; };
webhook = { group = "bench"; workers = $1; max_in_flight = $2; retry_schedule = "$3";
  metrics_listen = "127.0.0.1:0"; tls = { ca_file = "$HERALD_DEV_CA"; };
  connect_to = [ "bench.dev.test:443:127.0.0.1:$4" ]; ${WHD_WEBHOOK_EXTRA:-} };
${5:-}
EOF
}

sub_create() { # MAX_IN_FLIGHT
  printf '{"id":"bench","channel":"webhook","event_types":["account.service.state_changed"],'\
'"webhook":{"url":"https://bench.dev.test/hook","secrets":["%s"],"max_in_flight":%d}}' \
    "$secret" "$1" | "$bin/herald" sub --config "$work/whd.conf" create --file - >/dev/null
}

produce() { # EVENTS KEYS
  $tool events "$1" "$2" >"$work/events.jsonl"
  "$bin/herald" produce --config "$work/whd.conf" --file "$work/events.jsonl" >/dev/null
}

whd_start() {
  "${HERALD_WEBHOOKD:-$bin/herald-webhookd}" --config "$work/whd.conf" >"$work/whd.out" 2>"$work/whd.err" &
  whd_pid=$!
  wait_for 60 has_line "$work/whd.out" "consuming as group" || { cat "$work/whd.err" >&2; exit 1; }
}

nginx_start() { # PORT [DELAY_MS_MAX: answer after a uniform 0..MAX ms, through Lua]
  local answer='if ($request_method != POST) { return 405; }
      return 204;' modules=
  if [ -n "${2:-}" ]; then
    modules="load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;"
    answer="content_by_lua_block { ngx.sleep(math.random(0, $2) / 1000) ngx.exit(204) }"
  fi
  mkdir -p "$work/nginx"
  rm -f "$work/nginx/access.log"
  cat >"$work/nginx/nginx.conf" <<EOF
$modules
daemon off;
worker_processes 1;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  log_format bench '\$msec \$status \$http_user_agent \$content_length \$connection \$connection_requests';
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path $work/nginx/body;
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $HERALD_DEV_CERT;
    ssl_certificate_key $HERALD_DEV_KEY;
    location / {
      access_log $work/nginx/access.log bench buffer=256k flush=100ms;
      $answer
    }
  }
}
EOF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  rx_pid=$!
  wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Polled every 50 ms beside the processes measured, so it must be cheap: a Python
# start-up each time took ~40 % of a CPU and slowed the ordered rows at random.
nginx_count_at_least() {
  local n
  n=$(grep -c ' 204 herald-webhookd ' "$work/nginx/access.log" 2>/dev/null) || true
  [ "${n:-0}" -ge "$1" ]
}
listen_count_at_least() { [ "$($tool count-listen "$work/rx.jsonl" 2>/dev/null || echo 0)" -ge "$1" ]; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p"; }

throughput() {
  local n=${WEBHOOK_EVENTS:-30000} conns=${WEBHOOK_CONNS:-8} port st rate bytes wrk_rate
  dev_start
  port=$($tool port)
  whd_conf "$conns" 256 "0s,1s,1s" "$port"
  nginx_start "$port"
  sub_create 1000
  produce "$n" 1000
  whd_start
  [ -n "${PERF_OUT:-}" ] && { perf record -F 999 ${PERF_ARGS:---call-graph dwarf,16384} -p "$whd_pid" -o "$PERF_OUT" 2>/dev/null & perf_pid=$!; }
  wait_for 300 nginx_count_at_least "$n" || echo "throughput: not all delivered" >&2
  [ -n "${PERF_OUT:-}" ] && { kill -INT $perf_pid; wait $perf_pid || true; }
  [ -n "${DEBUG_METRICS:-}" ] && curl -s "$(sed -n 's/.*metrics on \(http[^ ]*\).*/\1/p' "$work/whd.out")" | grep -E "latency_seconds_(sum|count)|deliveries_total" >&2
  [ -n "${DEBUG_METRICS:-}" ] && echo "cpu_ticks=$(awk '{print $14+$15}' /proc/$whd_pid/stat)" \
    "context_switches=$(cat /proc/$whd_pid/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}')" >&2
  stop whd_pid
  sleep 0.2 # the access log is flushed every 100 ms
  st=$($tool nginx "$work/nginx/access.log" herald-webhookd)
  rate=$(echo "$st" | field rate) bytes=$(echo "$st" | field body_bytes)
  # wrk: a JSON body of the same size and headers of the same sizes as herald's.
  python3 - "$bytes" >"$work/post.lua" <<'PY'
import sys
n = int(sys.argv[1])
body = '{"id":"evt_bench","type":"account.service.state_changed","data":"%s"}'
body = body % ("x" * (n - len(body) + 2))
print('wrk.method = "POST"')
print('wrk.body = \'%s\'' % body)
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["User-Agent"] = "wrk"')
print('wrk.headers["webhook-id"] = "msg_01JDQ5Y1X9R8V3G0Z2K6T4W7N8M_bench"')
print('wrk.headers["webhook-timestamp"] = "1764215000"')
print('wrk.headers["webhook-signature"] = "v1,%s"' % ("A" * 43 + "="))
PY
  wrk_rate=$(wrk -t 2 -c "$conns" -d "${WRK_SECONDS:-10}s" -s "$work/post.lua" \
               "https://127.0.0.1:$port/hook" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
  echo "throughput: herald-webhookd $st connections=$conns"
  echo "throughput: wrk requests_per_s=${wrk_rate%.*} connections=$conns body_bytes=$bytes"
  echo "throughput: ratio=$(python3 -c "print('%.2f' % ($rate / $wrk_rate))") (target >= 0.5)"
  stop rx_pid
}

ordered_row() { # KEYS|unordered
  local n=${ORDERED_EVENTS:-10000} keys=$1 extra= port st el ideal delay=${ORDERED_DELAY:-0-5}
  [ "$keys" = unordered ] && keys=$n \
    extra='producer = { out_of_order = [ "account.service.state_changed" ]; };'
  dev_start
  if [ "${ORDERED_RX:-nginx}" = listen ]; then
    rm -f "$work/rx.jsonl"
    "$bin/herald" listen --listen 127.0.0.1:0 --cert "$HERALD_DEV_CERT" --key "$HERALD_DEV_KEY" \
      --secret "$secret" --out "$work/rx.jsonl" --delay-ms "$delay" >"$work/rx.out" 2>"$work/rx.err" &
    rx_pid=$!
    wait_for 10 has_line "$work/rx.out" "listening on" || { cat "$work/rx.err" >&2; exit 1; }
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/rx.out" | head -1)
  else
    [ "${delay%%-*}" = 0 ] || { echo "ordered: the nginx receiver delays 0..MAX ms" >&2; exit 2; }
    port=$($tool port)
    nginx_start "$port" "${delay#*-}"
  fi
  whd_conf "${ORDERED_WORKERS:-100}" 100 "0s,1s,1s" "$port" "$extra"
  sub_create 100
  produce "$n" "$keys"
  whd_start
  [ -n "${PERF_OUT:-}" ] && { perf record -F 999 ${PERF_ARGS:---call-graph dwarf,16384} -p "$whd_pid" -o "$PERF_OUT" 2>/dev/null & perf_pid=$!; }
  if [ "${ORDERED_RX:-nginx}" = listen ]; then
    wait_for 600 listen_count_at_least "$n" || echo "ordered: not all delivered" >&2
  else
    wait_for 600 nginx_count_at_least "$n" || echo "ordered: not all delivered" >&2
  fi
  [ -n "${PERF_OUT:-}" ] && { kill -INT $perf_pid; wait $perf_pid || true; }
  [ -n "${DEBUG_METRICS:-}" ] && curl -s "$(sed -n 's/.*metrics on \(http[^ ]*\).*/\1/p' "$work/whd.out")" | grep -E "latency_seconds_(sum|count)|deliveries_total" >&2
  [ -n "${DEBUG_METRICS:-}" ] && echo "cpu_ticks=$(awk '{print $14+$15}' /proc/$whd_pid/stat)" \
    "context_switches=$(cat /proc/$whd_pid/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}')" \
    "receiver_cpu_ticks=$(for p in $rx_pid $(pgrep -P "$rx_pid"); do awk '{print $14+$15}' /proc/$p/stat; done | awk '{n += $1} END {print n}')" >&2
  if [ "${ORDERED_RX:-nginx}" = listen ]; then
    st=$($tool listen "$work/rx.jsonl")
  else
    stop whd_pid
    sleep 0.2 # the access log is flushed every 100 ms
    st=$($tool nginx "$work/nginx/access.log" herald-webhookd | cut -d' ' -f1-4)
  fi
  el=$(echo "$st" | field elapsed_s)
  ideal=$(python3 -c "print('%.3f' % ($n * 0.0025 / min($keys, 100)))")
  printf 'ordered: %-9s keys=%-5s %s ideal_s=%s ratio=%s (target <= 1.5)\n' "$1" "$keys" "$st" \
    "$ideal" "$(python3 -c "print('%.2f' % ($el / $ideal))")"
  stop whd_pid; stop rx_pid
}

ordered() {
  for k in ${ORDERED_KEYS:-1 10 100 10000 unordered}; do ordered_row "$k"; done
}

rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

memory() {
  local n=${MEMORY_EVENTS:-100000} port t0 hwm_down st paused
  # 12 ordered partitions: the mock keeps at most ~5 MiB per partition.
  printf 'topics = { ordered_partitions = 12; };\n' >"$work/dev.conf"
  dev_start "$work/dev.conf"
  port=$($tool port) # nothing listens there yet: the endpoint is down
  whd_conf 8 256 "0s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s" "$port"
  sub_create 1000
  whd_start
  produce "$n" 1000
  # Queued: every ordered partition is paused at its window (or 30 s passed).
  metrics=$(sed -n 's/.*metrics on \(http[^ ]*\).*/\1/p' "$work/whd.out")
  paused_all() { [ "$(curl -s "$metrics" | sed -n 's/^herald_partitions_paused \([0-9]*\)/\1/p')" = 12 ]; }
  wait_for 30 paused_all || echo "memory: not all partitions paused" >&2
  sleep 5 # let retries cycle while the endpoint stays down
  hwm_down=$(rss "$whd_pid" VmHWM)
  echo "memory: endpoint down: events=$n rss_kib=$(rss "$whd_pid" VmRSS) peak_rss_kib=$hwm_down" \
       "$(curl -s "$metrics" | sed -n 's/^herald_\(delivery_retries_total\|partitions_paused\|deliveries_in_flight\) \([0-9]*\)$/\1=\2/p' | tr '\n' ' ')"
  t0=$(date +%s.%N)
  nginx_start "$port"
  wait_for 600 nginx_count_at_least "$n" || echo "memory: not all delivered" >&2
  st=$($tool nginx "$work/nginx/access.log" herald-webhookd)
  echo "memory: endpoint back: $st drain_s=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")"
  echo "memory: peak_rss_mib=$(( $(rss "$whd_pid" VmHWM) / 1024 )) (down: $((hwm_down / 1024))) (target <= 128)"
  stop whd_pid; stop rx_pid
}

case "$what" in
  throughput) throughput ;;
  ordered) ordered ;;
  memory) memory ;;
  all) throughput; ordered; memory ;;
  *) echo "usage: $0 [throughput|ordered|memory|all]" >&2; exit 2 ;;
esac
