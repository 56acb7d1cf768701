#!/usr/bin/env python3
"""webhook_tool.py: the helpers of tests/bench/webhook.sh.

  events N KEYS            N account.service.state_changed events as JSON lines,
                           account_id ACC-(i % KEYS): KEYS distinct Kafka keys
  nginx LOG UA             requests of user agent UA in a bench-format nginx log:
                           count, first/last $msec, rate = (count-1)/(last-first)
  listen OUT               herald listen output: distinct valid 204 ids, first and
                           last arrival
  count-nginx LOG UA       just the count of UA's 204 answers (for polling)
  count-listen OUT         just the distinct valid 204 ids (for polling)
  port                     a free 127.0.0.1 TCP port
"""
import json
import socket
import sys


def events(n, keys):
    for i in range(n):
        ev = {"type": "account.service.state_changed",
              "account_id": "ACC-%d" % (i % keys),
              "data": {"account": {"name": "Bench Account %d" % (i % keys),
                                   "billing_email": "ap@bench.example"},
                       "service": {"id": "SVC-%d" % i, "name": "Fibre line %d" % i,
                                   "identifier": "CIRCUIT-%06d" % i,
                                   "from_state": "provisioning", "to_state": "active"}}}
        print(json.dumps(ev, separators=(",", ":")))


def nginx_lines(path, ua):
    # log_format bench '$msec $status $http_user_agent $content_length $connection ...'
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[2] == ua and f[1] == "204":
            yield float(f[0]), int(f[3]) if f[3].isdigit() else 0, f[4]


def nginx(path, ua):
    lines = list(nginx_lines(path, ua))
    ts = [t for t, _, _ in lines]
    sizes = [s for _, s, _ in lines]
    conns = len({c for _, _, c in lines})
    if len(ts) < 2:
        print("count=%d" % len(ts))
        return
    first, last = min(ts), max(ts)
    rate = (len(ts) - 1) / (last - first) if last > first else 0
    print("count=%d first=%.3f last=%.3f elapsed_s=%.3f rate=%.0f body_bytes=%d tls_connections=%d"
          % (len(ts), first, last, last - first, rate, max(sizes), conns))


def listen_lines(path):
    for line in open(path):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("valid") and j.get("status") == 204:
            yield j


def listen(path):
    seen, first, last = set(), None, None
    for j in listen_lines(path):
        if j["id"] in seen:
            continue
        seen.add(j["id"])
        t = j["arrived_at"] / 1000.0
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
    print("count=%d first=%.3f last=%.3f elapsed_s=%.3f"
          % (len(seen), first or 0, last or 0, (last or 0) - (first or 0)))


def main():
    cmd = sys.argv[1]
    if cmd == "events":
        events(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "nginx":
        nginx(sys.argv[2], sys.argv[3])
    elif cmd == "count-nginx":
        print(sum(1 for _ in nginx_lines(sys.argv[2], sys.argv[3])))
    elif cmd == "listen":
        listen(sys.argv[2])
    elif cmd == "count-listen":
        print(len({j["id"] for j in listen_lines(sys.argv[2])}))
    elif cmd == "port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        s.close()
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
