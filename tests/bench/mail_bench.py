#!/usr/bin/env python3
"""mail_bench.py: the rounds of tests/bench/mail.sh (which sets up the dev stack, the
subscription and the events; see there).

Both clients are timed by the same smtp-sink in the same way: its running counter
(-c) goes to a file, the first message accepted starts the clock, and -M EVENTS
makes it exit on the last one; rate = (EVENTS - 1) / (last - first).

- Sizing: herald-maild sends one message to a capturing sink (-d); that message,
  byte for byte, is what smtp-source sends (-F), and its size is checked the same
  way.
- herald round: a fresh consumer group (so the same EVENTS records again), one
  profile with max_connections = CONCURRENCY, otherwise the defaults.
- smtp-source round: -s CONCURRENCY -m EVENTS -d (connections kept open, as herald
  keeps them) -F the captured message.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

SINK_USER = ["-u", "nobody"] if os.geteuid() == 0 else []  # smtp-sink refuses root


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    sys.exit("mail_bench: smtp-sink did not listen on %d" % port)


def start_sink(port, counter, extra):
    out = open(counter, "wb")
    sink = subprocess.Popen(["smtp-sink", "-c"] + extra + SINK_USER +
                            ["127.0.0.1:%d" % port, "1024"], stdout=out)
    out.close()
    wait_listening(port, sink)
    return sink


def cpu_seconds(pid, tid=None):
    path = "/proc/%d/task/%d/stat" % (pid, tid) if tid else "/proc/%d/stat" % pid
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid, tid=None):
    """Context switches (voluntary + involuntary) of a process (all its threads) or one
    thread: every SMTP reply a thread sleeps for costs one."""
    tids = [tid] if tid else [int(t) for t in os.listdir("/proc/%d/task" % pid)]
    n = 0
    for t in tids:
        try:
            with open("/proc/%d/task/%d/status" % (pid, t)) as f:
                for line in f:
                    if "ctxt_switches:" in line:  # voluntary_ and nonvoluntary_
                        n += int(line.split()[-1])
        except FileNotFoundError:
            pass
    return n


class Bench:
    def __init__(self, a):
        self.a = a
        self.env = dict(os.environ)
        self.nconf = 0

    def write_conf(self, group, port, conc):
        self.nconf += 1
        path = os.path.join(self.a.work, "maild-%d.conf" % self.nconf)
        with open(path, "w") as f:
            f.write('kafka = { bootstrap_servers = "%s"; };\n'
                    'registry = { urls = [ "%s" ]; };\n'
                    'email = { group = "%s"; metrics_listen = "127.0.0.1:0"; %s\n'
                    '  profiles = ( { name = "dev"; host = "127.0.0.1"; port = %d; tls = "none";\n'
                    '    from_name = "herald bench"; from_address = "bench@herald.test";\n'
                    '    max_connections = %d; } ); };\n'
                    % (self.env["HERALD_BOOTSTRAP"], self.env["HERALD_REGISTRY_URL"], group,
                       os.environ.get("MAIL_BENCH_EMAIL", ""), port, conc))
        return path

    def start_maild(self, conf, tag):
        out = os.path.join(self.a.work, "maild-%s.out" % tag)
        err = open(os.path.join(self.a.work, "maild-%s.err" % tag), "wb")
        # HERALD_MAILD=PATH: another build against the same stack (before/after)
        maild = os.environ.get("HERALD_MAILD") or os.path.join(self.a.bin, "herald-maild")
        p = subprocess.Popen([maild, "--config", conf],
                             stdout=open(out, "wb"), stderr=err)
        return p, out

    @staticmethod
    def stop(p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def timed(self, sink, counter, client, n):
        """Seconds from the sink's first accepted message to its n-th (it exits).
        client: a process that must stay up, or None (not reaped here)."""
        first, off, deadline = None, 0, time.monotonic() + self.a.timeout
        with open(counter, "rb") as f:
            while sink.poll() is None:
                if client and client.poll() is not None:
                    sys.exit("mail_bench: the client exited (%d) before the last message"
                             % client.returncode)
                if time.monotonic() > deadline:
                    sink.kill()
                    sys.exit("mail_bench: no %d messages within %ds" % (n, self.a.timeout))
                if first is None:
                    f.seek(off)
                    data = f.read()
                    off += len(data)
                    if re.search(rb"mesg=[1-9]", data):
                        first = time.monotonic()
                time.sleep(0.001)
            last = time.monotonic()
        if first is None:
            sys.exit("mail_bench: smtp-sink exited without a message")
        return last - first

    def capture(self, client_start):
        """The first message a client sends, as smtp-sink received it (lines, no EOL)."""
        cap = os.path.join(self.a.work, "cap")
        os.makedirs(cap, exist_ok=True)
        os.chmod(cap, 0o777)
        for name in os.listdir(cap):
            os.unlink(os.path.join(cap, name))
        port = free_port()
        sink = start_sink(port, os.path.join(self.a.work, "cap.counter"),
                          ["-M", "1", "-d", os.path.join(cap, "msg.")])
        client = client_start(port)
        try:
            sink.wait(60)
        finally:
            self.stop(client)
        files = os.listdir(cap)
        if not files:
            sys.exit("mail_bench: nothing captured")
        with open(os.path.join(cap, files[0]), "rb") as f:
            lines = f.read().split(b"\n")
        # skip smtp-sink's X-* records and its three-line Received header
        i = next(k for k, l in enumerate(lines) if l.startswith(b"Received: "))
        i += 1
        while lines[i][:1] in (b" ", b"\t"):
            i += 1
        body = lines[i:]
        while body and body[-1] == b"":
            body.pop()
        return body

    def herald_round(self, tag, n, conc):
        port = free_port()
        counter = os.path.join(self.a.work, "counter-%s" % tag)
        sink = start_sink(port, counter, ["-M", str(n)])
        maild, out = self.start_maild(self.write_conf("bench-mail-" + tag, port, conc), tag)
        perf = None
        if self.a.perf:  # where herald's time goes: perf report -i DIR/herald-TAG.data
            # attached once it consumes, so that its worker threads are recorded too
            while maild.poll() is None and "consuming as group" not in open(out).read():
                time.sleep(0.01)
            args = os.environ.get("MAIL_BENCH_PERF_ARGS", "-g").split()
            perf = subprocess.Popen(["perf", "record", "-q"] + args +
                                    ["-p", str(maild.pid), "-o",
                                     os.path.join(self.a.perf, "herald-%s.data" % tag)],
                                    stdout=subprocess.DEVNULL)
        try:
            secs = self.timed(sink, counter, maild, n)
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait()
            cpu = cpu_seconds(maild.pid)
            loop_cpu = cpu_seconds(maild.pid, maild.pid)  # the main thread runs the loop
            cs, loop_cs = switches(maild.pid), switches(maild.pid, maild.pid)
            delivered = self.delivered(out)
        finally:
            self.stop(maild)
        return n - 1, secs, cpu, loop_cpu, delivered, cs, loop_cs

    @staticmethod
    def delivered(out):
        """herald's delivered count and mean attempt time, from its metrics."""
        m = re.search(r"metrics on (http://\S+)", open(out).read())
        if not m:
            return "?"
        text = urllib.request.urlopen(m.group(1), timeout=5).read().decode()
        m = re.search(r'herald_deliveries_total\{[^}]*result="delivered"[^}]*\} (\d+)', text)
        s = re.search(r"herald_delivery_latency_seconds_sum (\S+)", text)
        c = re.search(r"herald_delivery_latency_seconds_count (\d+)", text)
        mean = float(s.group(1)) / int(c.group(1)) * 1e6 if s and c and int(c.group(1)) else 0
        # the mean attempt (borrowing a connection and the whole SMTP transaction)
        return "%s, mean attempt %.0f us" % (m.group(1) if m else "?", mean)

    def source_round(self, tag, n, conc, msgfile):
        port = free_port()
        counter = os.path.join(self.a.work, "counter-%s" % tag)
        sink = start_sink(port, counter, ["-M", str(n)])
        src = subprocess.Popen(["smtp-source", "-d", "-s", str(conc), "-m", str(n),
                                "-f", "bench@herald.test", "-t", "ap1@bench.test",
                                "-M", "herald.test", "-F", msgfile, "127.0.0.1:%d" % port],
                               stderr=subprocess.DEVNULL)
        secs = self.timed(sink, counter, None, n)
        # reaped here for its own CPU time; it may complain that the sink left before
        # its QUIT
        _, _, ru = os.wait4(src.pid, 0)
        src.returncode = 0
        return n - 1, secs, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--perf", help="record each herald round with perf into this directory")
    a = ap.parse_args()
    b = Bench(a)
    n, conc = a.events, a.concurrency

    # herald's message, then smtp-source sending that file, both as the sink saw them
    conf = b.write_conf("bench-mail-size", 0, 1)

    def maild_to(port):
        with open(conf) as f:
            text = f.read().replace("port = 0;", "port = %d;" % port)
        with open(conf, "w") as f:
            f.write(text)
        return b.start_maild(conf, "size")[0]

    msg = b.capture(maild_to)
    msgfile = os.path.join(a.work, "message.eml")
    with open(msgfile, "wb") as f:
        f.write(b"\n".join(msg) + b"\n")
    src_msg = b.capture(lambda port: subprocess.Popen(
        ["smtp-source", "-m", "1", "-f", "bench@herald.test", "-t", "ap1@bench.test",
         "-M", "herald.test", "-F", msgfile, "127.0.0.1:%d" % port],
        stderr=subprocess.DEVNULL))
    size = sum(len(l) + 2 for l in msg)
    src_size = sum(len(l) + 2 for l in src_msg)
    print("message: herald %d bytes, smtp-source %d bytes (%s)" %
          (size, src_size, "identical" if msg == src_msg else "DIFFERENT"))

    rates = {"herald": [], "source": []}
    for r in range(1, a.rounds + 1):
        order = ("herald", "source") if r % 2 else ("source", "herald")
        for who in order:
            if who == "herald":
                m, secs, cpu, loop_cpu, dl, cs, loop_cs = b.herald_round("r%d" % r, n, conc)
                extra = (" loop thread %.0f us/msg, switches/msg %.1f (loop %.1f), "
                         "delivered_metric=%s" % (loop_cpu * 1e6 / (m + 1), cs / (m + 1),
                                                  loop_cs / (m + 1), dl))
            else:
                m, secs, cpu = b.source_round("s%d" % r, n, conc, msgfile)
                extra = ""
            rate = m / secs
            rates[who].append(rate)
            print("round %d %-11s %7.0f msgs/s  (%d msgs in %.2fs, cpu %.0f us/msg)%s" %
                  (r, "herald" if who == "herald" else "smtp-source", rate, m + 1, secs,
                   cpu * 1e6 / (m + 1), extra), flush=True)
    h, s = statistics.median(rates["herald"]), statistics.median(rates["source"])
    print("mail: events=%d concurrency=%d message_bytes=%d herald_msgs_per_s=%.0f "
          "smtp_source_msgs_per_s=%.0f ratio=%.2f (target >= 0.5; medians of %d rounds)" %
          (n, conc, size, h, s, h / s, a.rounds))


if __name__ == "__main__":
    main()
