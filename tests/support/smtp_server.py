#!/usr/bin/python3
"""A scriptable SMTP server for herald's e-mail tests (aiosmtpd, loopback).

    smtp_server.py serve --dir DIR [--port 0] [--tls none|starttls|implicit]
                   [--cert PEM --key PEM] [--auth USER:PASSWORD] [--fail-4xx N]
                   [--fail-5xx] [--refuse ADDR]... [--refuse-4xx ADDR]...
    smtp_server.py parse FILE      prints the parsed message as JSON

serve prints "smtp_server: ready PORT" on stdout once listening, then nothing
more on stdout. Each accepted message is written to DIR as NNNN.eml (the bytes
received) and NNNN.json (envelope, connection number, TLS, AUTH user, and the
parsed view `parse` prints), both before the 250 reply, so a client that got
its 250 can read them. DIR/connections holds the number of connections so far.
Messages of an earlier run in DIR are deleted at start.

  --tls starttls   STARTTLS offered and required before MAIL (530 otherwise)
  --tls implicit   TLS from the first byte (smtps)
  --auth U:P       AUTH PLAIN/LOGIN required; over TLS unless --tls none
  --fail-4xx N     the first N messages get "451 4.3.0" at end of DATA
  --fail-5xx       every message gets "554 5.7.1" at end of DATA
  --refuse ADDR    RCPT TO:<ADDR> gets "550 5.1.1"; --refuse-4xx: "450 4.2.1"
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

COUNTS = {"connections": 0, "messages": 0, "data": 0}


def _write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def _addresses(header):
    if header is None:
        return None
    try:
        return [{"name": a.display_name, "addr": a.addr_spec} for a in header.addresses]
    except Exception as e:  # noqa: BLE001 - report, do not crash
        return [{"error": str(e)}]


def parse(raw):
    """The message as the Python e-mail package understands it."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    lines = raw.split(b"\r\n")
    out = {
        "headers": [[k, str(v)] for k, v in msg.items()],
        "raw_headers": [[k, v] for k, v in msg.raw_items()],
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "from": _addresses(msg["from"]),
        "to": _addresses(msg["to"]),
        "cc": _addresses(msg["cc"]),
        "message_id": msg["message-id"],
        "date": msg["date"],
        "content_type": msg.get_content_type(),
        "defects": [repr(d) for d in msg.defects],
        "max_line": max(len(l) for l in lines),
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
        "bare_cr": b"\r" in raw.replace(b"\r\n", b""),
        "parts": [],
    }
    for part in msg.walk():
        out["defects"] += [repr(d) for d in part.defects]
        if part.is_multipart():
            continue
        out["parts"].append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("content-transfer-encoding"),
            "content": part.get_content(),
        })
    return out


class Handler:
    def __init__(self, args):
        self.args = args

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.args.refuse:
            return "550 5.1.1 <%s>: no such user" % address
        if address.lower() in self.args.refuse_4xx:
            return "450 4.2.1 <%s>: mailbox busy" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        COUNTS["data"] += 1
        if self.args.fail_5xx:
            return "554 5.7.1 message rejected"
        if COUNTS["data"] <= self.args.fail_4xx:
            return "451 4.3.0 try again later"
        COUNTS["messages"] += 1
        n = COUNTS["messages"]
        raw = envelope.original_content or envelope.content
        transport_tls = server.transport.get_extra_info("ssl_object") is not None
        meta = {
            "connection": server.herald_conn,
            "tls": bool(session.ssl is not None or transport_tls),
            "auth": session.auth_data.login.decode() if session.authenticated and
            session.auth_data is not None else None,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "parsed": parse(raw),
        }
        base = os.path.join(self.args.dir, "%04d" % n)
        _write_atomic(base + ".json", json.dumps(meta, indent=1).encode())
        _write_atomic(base + ".eml", raw)
        return "250 2.0.0 Ok: queued as %04d" % n


def _authenticator(user, password):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return check


async def serve(args):
    from aiosmtpd.smtp import SMTP

    os.makedirs(args.dir, exist_ok=True)
    for name in os.listdir(args.dir):  # a fresh start: earlier runs' messages go
        if name == "connections" or name.endswith((".eml", ".json", ".tmp")):
            os.unlink(os.path.join(args.dir, name))
    ctx = None
    if args.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
    kw = {"hostname": "smtp.herald.test", "ident": "herald-test-smtp"}
    if args.tls == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, _, password = args.auth.partition(":")
        kw.update(authenticator=_authenticator(user, password), auth_required=True,
                  auth_require_tls=args.tls == "starttls")
    handler = Handler(args)
    loop = asyncio.get_running_loop()

    def factory():
        COUNTS["connections"] += 1
        _write_atomic(os.path.join(args.dir, "connections"),
                      str(COUNTS["connections"]).encode())
        proto = SMTP(handler, loop=loop, **kw)
        proto.herald_conn = COUNTS["connections"]
        return proto

    server = await loop.create_server(factory, host="127.0.0.1", port=args.port,
                                      ssl=ctx if args.tls == "implicit" else None,
                                      reuse_address=True)
    print("smtp_server: ready %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--auth")
    s.add_argument("--fail-4xx", type=int, default=0)
    s.add_argument("--fail-5xx", action="store_true")
    s.add_argument("--refuse", action="append", default=[], type=str.lower)
    s.add_argument("--refuse-4xx", action="append", default=[], type=str.lower)
    p = sub.add_parser("parse")
    p.add_argument("file")
    args = ap.parse_args()
    if args.cmd == "parse":
        with open(args.file, "rb") as f:
            json.dump(parse(f.read()), sys.stdout, indent=1)
        print()
        return
    if args.tls != "none" and not (args.cert and args.key):
        ap.error("--tls %s needs --cert and --key" % args.tls)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
