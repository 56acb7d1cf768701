#!/usr/bin/env python3
"""Keeps deploy/ in step with the code (run by test_deploy_files.sh).

Facts are read from the sources, never restated here: config keys, types and
ranges from the table in common/hd_config.c (+ the SMTP profile fields of
common/hd_config_smtp.c), metric names from the `# TYPE` lines of the metrics
renderers under consumers/, program names from add_executable(), the version from
the top-level CMakeLists.txt, Dockerfile stages from its FROM lines. Then:

- every compose and Kubernetes YAML file parses (python3-yaml);
- every herald.conf under deploy/ holds only known settings of the right type and
  range; every secret named by *_env reaches the pods;
- every image is pinned; herald images are herald[-smtp-test]:VERSION built from an
  existing Dockerfile stage on debian:12;
- every port a health check, probe, containerPort or Service uses is the one the
  mounted herald.conf makes the daemon listen on (and on 0.0.0.0);
- every config key and metric name mentioned in YAML, units, the Dockerfile and the
  README's Deployment and Runbook sections exists;
- topics, groups, partition caps and stop timeouts agree with herald.conf;
- the README's build commands are the Dockerfile's RUN commands.
"""
import glob
import os
import re
import sys

import yaml

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
errors, notes = [], []


def err(where, msg):
    errors.append(f"{os.path.relpath(where, SRC) if os.path.isabs(where) else where}: {msg}")


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- facts from code
def version():
    m = re.search(r"project\(herald VERSION ([0-9.]+)", read("CMakeLists.txt"))
    return m.group(1)


def programs():
    names = set()
    for cm in glob.glob(os.path.join(SRC, "**", "CMakeLists.txt"), recursive=True):
        if "/build" in os.path.relpath(cm, SRC).split(os.sep)[0]:
            continue
        with open(cm, encoding="utf-8") as f:
            names |= set(re.findall(r"add_executable\((herald[a-z-]*)\s", f.read()))
    return names


def config_table():
    text = read("common/hd_config.c")
    table = {}
    for path, typ, lo, hi in re.findall(
            r'\{"([a-z_.]+)",\s*HD_CT_([A-Z]+),\s*(?:OFF\([^)]*\)|0),\s*([-0-9 *]+),\s*([-0-9 *]+),',
            text):
        table[path] = (typ, _num(lo), _num(hi))
    groups = set()
    m = re.search(r"hd_cgroups\[\]\s*=\s*\{([^}]*)\}", text)
    if m:
        groups = set(re.findall(r'"([a-z_.]+)"', m.group(1)))
    smtp = set(re.findall(r'!strcmp\(n, "([a-z_]+)"\)', read("common/hd_config_smtp.c")))
    return table, groups, smtp


def _num(expr):
    v = 1
    for part in expr.split("*"):
        v *= int(part.strip())
    return v


def metric_names():
    names = set()
    for c in glob.glob(os.path.join(SRC, "consumers", "**", "*.c"), recursive=True):
        with open(c, encoding="utf-8") as f:
            for name, kind in re.findall(r"# TYPE (herald_[a-z_]+) (counter|gauge|histogram)", f.read()):
                names.add(name)
                if kind == "histogram":
                    names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


VERSION = version()
PROGRAMS = programs()
TABLE, CGROUPS, SMTP_FIELDS = config_table()
METRICS = metric_names()
DAEMON_LISTEN = {"webhookd": "webhook.metrics_listen", "maild": "email.metrics_listen",
                 "registry": "registry_server.listen"}
DAEMON_SECTION = {"webhookd": "webhook", "maild": "email"}
if not TABLE or not METRICS or "herald-webhookd" not in PROGRAMS:
    sys.exit("cannot read the config table, metric names or programs from the sources")


# ---------------------------------------------------------------- libconfig reader
TOKEN = re.compile(r'''
    (?P<ws>\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/) |
    (?P<str>"(?:[^"\\]|\\.)*") |
    (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)L{0,2}) |
    (?P<name>[A-Za-z*][-A-Za-z0-9_*]*) |
    (?P<punct>[=:;,{}()\[\]])''', re.X | re.S)


def lc_tokens(text, where):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"{where}: cannot read at offset {pos}: {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        val = m.group(kind)
        if kind == "str":
            val = bytes(val[1:-1], "utf-8").decode("unicode_escape")
            if out and out[-1][0] == "str":      # "a" "b" concatenates
                out[-1] = ("str", out[-1][1] + val)
                continue
        elif kind == "num":
            v = val.rstrip("L")
            val = int(v, 0) if re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F]+|[0-9]+)", v) else float(v)
        elif kind == "name" and val.lower() in ("true", "false"):
            kind, val = "bool", val.lower() == "true"
        out.append((kind, val))
    return out


def lc_parse(text, where):
    toks = lc_tokens(text, where)
    i = 0

    def settings(end):
        nonlocal i
        d = {}
        while i < len(toks) and toks[i] != ("punct", end):
            kind, name = toks[i]
            if kind != "name" or toks[i + 1][1] not in "=:":
                raise ValueError(f"{where}: expected a setting name, got {name!r}")
            i += 2
            d[name] = value()
            if i < len(toks) and toks[i][1] in (";", ","):
                i += 1
        i += 1
        return d

    def value():
        nonlocal i
        kind, v = toks[i]
        i += 1
        if (kind, v) == ("punct", "{"):
            return settings("}")
        if kind == "punct" and v in "([":
            close = ")" if v == "(" else "]"
            items = []
            while toks[i] != ("punct", close):
                items.append(value())
                if toks[i] == ("punct", ","):
                    i += 1
            i += 1
            return items
        if kind in ("str", "num", "bool"):
            return v
        raise ValueError(f"{where}: unexpected {v!r}")

    toks.append(("punct", "\0"))
    return settings("\0")


def check_config(rel):
    """Checks one herald.conf against the table; returns {path: value}."""
    where = os.path.join(SRC, rel)
    try:
        tree = lc_parse(read(rel), rel)
    except (ValueError, IndexError) as e:
        err(where, f"not readable as libconfig: {e}")
        return {}
    flat = {}

    def walk(d, prefix):
        for name, v in d.items():
            path = f"{prefix}.{name}" if prefix else name
            if path == "kafka" or path.startswith("kafka."):
                if path == "kafka" and isinstance(v, dict):
                    for k, kv in v.items():
                        flat[f"kafka.{k}"] = kv
                continue
            if isinstance(v, dict):
                if path not in CGROUPS:
                    err(where, f"{path}: not a setting group of common/hd_config.c")
                walk(v, path)
            elif path == "email.profiles":
                for n, prof in enumerate(v if isinstance(v, list) else [None]):
                    if not isinstance(prof, dict):
                        err(where, f"email.profiles[{n}]: expected a group")
                        continue
                    for k in prof:
                        if k not in SMTP_FIELDS:
                            err(where, f"email.profiles[{n}].{k}: not an SMTP profile field "
                                       "of common/hd_config_smtp.c")
                flat[path] = v
            else:
                check_value(where, path, v)
                flat[path] = v

    walk(tree, "")
    return flat


def check_value(where, path, v):
    base = re.sub(r"_(env|file)$", "", path)
    if path not in TABLE and base != path and TABLE.get(base, ("",))[0] == "SECRET":
        if not isinstance(v, str):
            err(where, f"{path}: expected a string")
        return
    if path not in TABLE:
        err(where, f"{path}: unknown setting (not in common/hd_config.c)")
        return
    typ, lo, hi = TABLE[path]
    if typ == "INT":
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            err(where, f"{path}: {v!r} is not an integer in {lo}..{hi}")
    elif typ in ("STR", "SECRET"):
        if not isinstance(v, str):
            err(where, f"{path}: {v!r} is not a string")
    elif typ == "BOOL":
        if not isinstance(v, bool):
            err(where, f"{path}: {v!r} is not a boolean")
    elif typ == "STRLIST":
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v) or not lo <= len(v) <= hi:
            err(where, f"{path}: expected {lo}..{hi} strings")


def setting(flat, path):
    """Value of a setting in a config, else the table's default."""
    if path in flat:
        return flat[path]
    m = re.search(r'\{"' + re.escape(path) + r'",\s*HD_CT_[A-Z]+,[^"]*"([^"]*)"', read("common/hd_config.c"))
    if m:
        return int(m.group(1)) if TABLE[path][0] == "INT" else m.group(1)
    return {"email.metrics_listen": "127.0.0.1:9465"}.get(path)


def listen_of(flat, daemon, where, container=True):
    key = DAEMON_LISTEN[daemon]
    v = setting(flat, key)
    if not isinstance(v, str) or ":" not in v:
        err(where, f"{key} is not HOST:PORT in the mounted herald.conf")
        return None
    host, port = v.rsplit(":", 1)
    if container and host != "0.0.0.0":
        err(where, f"{key} = {v!r}: a container must listen on 0.0.0.0 to be probed")
    return int(port)


def check_program(where, sub):
    prog = f"herald-{sub}"
    if prog in PROGRAMS:
        return True
    err(where, f"runs `herald {sub}` but no {prog} program is built")
    return False


# ---------------------------------------------------------------- text references
KEY_REF = re.compile(r"(?<![\w./@-])((?:log|topics|registry|registry_server|serde|producer|webhook|email|dev)"
                     r"(?:\.[a-z_]+)+)(?![\w-])")
FILE_EXT = (".yaml", ".yml", ".json", ".conf", ".service", ".sh", ".md", ".c", ".h", ".pem", ".jsonl")
METRIC_REF = re.compile(r"(?<![\w])herald_[a-z][a-z_]*")


def check_text_refs(where, text):
    for key in set(KEY_REF.findall(text)):
        if key.endswith(FILE_EXT) or key in CGROUPS:
            continue
        base = re.sub(r"_(env|file)$", "", key)
        if key in TABLE or base in TABLE or key == "email.profiles" or key.rsplit(".", 1)[0] in TABLE:
            continue
        err(where, f"mentions config key {key}, which common/hd_config.c does not have")
    for name in set(METRIC_REF.findall(text)):
        if name not in METRICS:
            err(where, f"mentions metric {name}, which no metrics renderer under consumers/ emits")


def readme_sections(text, titles):
    out, keep = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            keep = line[3:].strip() in titles
        if keep:
            out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------- Dockerfile
def dockerfile(rel):
    text = read(rel)
    joined = re.sub(r"\\\n", " ", text)
    stages, runs = {}, []
    for line in joined.splitlines():
        line = line.strip()
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            base, name = m.group(1), m.group(2)
            if base not in stages and base != "debian:12":
                err(rel, f"stage {name}: base image {base}, want debian:12")
            if name:
                stages[name] = base
        elif line.upper().startswith("RUN "):
            runs += [c.strip() for c in re.split(r"&&|;", line[4:])]
    return stages, runs, text


def check_readme_build(readme, runs):
    m = re.search(r"<!-- build commands:.*?-->\s*```sh\n(.*?)```", readme, re.S)
    if not m:
        err("README.md", "no build-commands block (<!-- build commands: … --> + ```sh) in Deployment")
        return
    cmds = [l.split("#")[0].strip() for l in m.group(1).splitlines()]
    for c in filter(None, cmds):
        if c not in runs:
            err("deploy/compose/Dockerfile", f"README build command `{c}` is not a RUN command here")


# ---------------------------------------------------------------- compose
def image_pinned(where, image):
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    if not tag or tag == "latest":
        err(where, f"image {image} is not pinned to a version")
    return (name or image), tag


def herald_image(where, image, stages, build):
    name, tag = image_pinned(where, image)
    if name not in ("herald", "herald-smtp-test"):
        return False
    if tag != VERSION:
        err(where, f"image {image}: tag must be the project version {VERSION}")
    target = (build or {}).get("target")
    want = {"herald": "runtime", "herald-smtp-test": "smtp-test"}[name]
    if build is not None and target != want:
        err(where, f"image {image} must be built from Dockerfile stage {want}, not {target}")
    if want not in stages:
        err(where, f"Dockerfile has no stage {want} for {image}")
    return True


def seconds(v):
    m = re.fullmatch(r"(\d+)(ms|s|m)?", str(v))
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[m.group(2)] if m else 0


def url_port(test):
    s = " ".join(test) if isinstance(test, list) else str(test)
    m = re.search(r"https?://[^/:\s]+:(\d+)", s)
    return int(m.group(1)) if m else None


def check_compose(stages):
    rel = "deploy/compose/compose.yaml"
    doc = yaml.safe_load(read(rel))
    conf_rel = "deploy/compose/herald.conf"
    flat = check_config(conf_rel)
    services = doc.get("services", {})
    for name, svc in services.items():
        where = f"{rel}: services.{name}"
        for dep in (svc.get("depends_on") or {}):
            if dep not in services:
                err(where, f"depends on unknown service {dep}")
        image = svc.get("image")
        if not image:
            err(where, "no image")
            continue
        if not herald_image(where, image, stages, svc.get("build")):
            continue
        if image.startswith("herald-smtp-test"):
            continue
        for v in svc.get("volumes", []):
            hostpath = v.split(":")[0]
            if hostpath.startswith("."):
                if not os.path.exists(os.path.join(SRC, "deploy/compose", hostpath)):
                    err(where, f"mounts {hostpath}, which does not exist")
                if hostpath == "./herald.conf" and not v.split(":")[1] == "/etc/herald/herald.conf":
                    err(where, "herald.conf must be mounted at /etc/herald/herald.conf")
        cmd = svc.get("command") or []
        if not cmd or svc.get("entrypoint"):
            continue
        sub = cmd[0]
        if not check_program(where, sub):
            continue
        hc = (svc.get("healthcheck") or {})
        if sub in DAEMON_LISTEN:
            port = listen_of(flat, sub, where)
            if hc.get("disable") or url_port(hc.get("test")) != port:
                err(where, f"health check must probe the metrics port {port} of {DAEMON_LISTEN[sub]}")
            if sub in DAEMON_SECTION:
                revoke = setting(flat, DAEMON_SECTION[sub] + ".revoke_timeout_ms") or 10000
                if seconds(svc.get("stop_grace_period", "10s")) <= revoke / 1000:
                    err(where, f"stop_grace_period must exceed {DAEMON_SECTION[sub]}.revoke_timeout_ms")
        elif sub == "listen":
            lp = int(cmd[cmd.index("--listen") + 1].rsplit(":", 1)[1])
            if url_port(hc.get("test")) != lp:
                err(where, f"health check must probe herald listen's port {lp}")
            ct = [c for c in setting(flat, "webhook.connect_to") or [] if c.endswith(f":{name}:{lp}")]
            if not ct:
                err(conf_rel, f"webhook.connect_to does not route to {name}:{lp}")
    for name, svc in services.items():
        if not str(svc.get("image", "")).startswith("herald"):
            image_pinned(f"{rel}: services.{name}", svc.get("image", ""))
    check_compose_topics(rel, services, flat)
    whd = services.get("herald-webhookd", {})
    parts = setting(flat, "topics.ordered_partitions") + setting(flat, "topics.unordered_partitions")
    reps = (whd.get("deploy") or {}).get("replicas", 1)
    if not 2 <= reps <= parts:
        err(rel, f"herald-webhookd replicas {reps}: want 2..{parts} (several members, at most the partitions)")
    sr = services.get("schema-registry", {}).get("environment", {})
    if sr.get("SCHEMA_REGISTRY_KAFKASTORE_TOPIC", "_schemas") != setting(flat, "topics.schemas"):
        err(rel, "schema-registry must store in topics.schemas (same topic as herald-registry)")
    regs = setting(flat, "registry.urls") or []
    if not any(u.rstrip("/").endswith(":" + re.sub(r".*:", "", sr.get("SCHEMA_REGISTRY_LISTENERS", ""))) for u in regs):
        err(conf_rel, "registry.urls does not name the schema-registry listener port")


def check_compose_topics(rel, services, flat):
    script = " ".join(services.get("kafka-init", {}).get("command") or [])
    made = dict(re.findall(r"--topic (\S+) --partitions (\d+)", script))
    want = {setting(flat, "topics.ordered"): setting(flat, "topics.ordered_partitions"),
            setting(flat, "topics.unordered"): setting(flat, "topics.unordered_partitions"),
            setting(flat, "topics.subscriptions"): None,
            f"herald.{setting(flat, 'webhook.group')}.dlq": setting(flat, "topics.dlq_partitions"),
            f"herald.{setting(flat, 'email.group')}.dlq": setting(flat, "topics.dlq_partitions")}
    for topic, parts in want.items():
        if topic not in made:
            err(rel, f"kafka-init does not create {topic}")
        elif parts is not None and int(made[topic]) != parts:
            err(rel, f"kafka-init makes {topic} with {made[topic]} partitions, herald.conf says {parts}")


# ---------------------------------------------------------------- Kubernetes
def check_k8s():
    base = "deploy/k8s/base"
    kust = yaml.safe_load(read(f"{base}/kustomization.yaml"))
    docs = []
    for r in kust.get("resources", []):
        if not os.path.exists(os.path.join(SRC, base, r)):
            err(f"{base}/kustomization.yaml", f"resource {r} does not exist")
            continue
        docs += [(f"{base}/{r}", d) for d in yaml.safe_load_all(read(f"{base}/{r}")) if d]
    gen = {g["name"]: g for g in kust.get("configMapGenerator", [])}
    if "herald-config" not in gen or gen["herald-config"].get("files") != ["herald.conf"]:
        err(f"{base}/kustomization.yaml", "configMapGenerator herald-config must hold herald.conf")
    flat = check_config(f"{base}/herald.conf")
    imgs = {i["name"]: i for i in kust.get("images", [])}
    if imgs.get("herald", {}).get("newTag") != VERSION:
        err(f"{base}/kustomization.yaml", f"images: herald newTag must be {VERSION}")
    kinds = {}
    for where, d in docs:
        kinds.setdefault(d["kind"], {})[d["metadata"]["name"]] = (where, d)
    secrets = {}
    for where, s in kinds.get("Secret", {}).values():
        secrets[s["metadata"]["name"]] = set((s.get("stringData") or {}) | (s.get("data") or {}))
    env_needed = {v for k, v in flat.items() if k.endswith("_env")}
    for p in flat.get("email.profiles", []):
        env_needed |= {v for k, v in p.items() if k.endswith("_env")}
    labels = {}
    for name, (where, dep) in kinds.get("Deployment", {}).items():
        labels[name] = dep["spec"]["template"]["metadata"]["labels"]
        check_deployment(where, name, dep, flat, secrets, env_needed, gen)
    for name, (where, pdb) in kinds.get("PodDisruptionBudget", {}).items():
        sel = pdb["spec"]["selector"]["matchLabels"]
        if not any(sel.items() <= l.items() for l in labels.values()):
            err(where, f"PodDisruptionBudget {name} selects no Deployment")
    for name, (where, svc) in kinds.get("Service", {}).items():
        if not any(svc["spec"]["selector"].items() <= l.items() for l in labels.values()):
            err(where, f"Service {name} selects no Deployment")
    for name, (where, so) in kinds.get("ScaledObject", {}).items():
        check_scaledobject(where, name, so, kinds.get("Deployment", {}), flat)
    for d in ("herald-webhookd", "herald-maild"):
        if d not in kinds.get("Deployment", {}):
            err(base, f"no Deployment {d}")
        if d not in kinds.get("PodDisruptionBudget", {}):
            err(base, f"no PodDisruptionBudget for {d}")
        if d not in kinds.get("ScaledObject", {}):
            err(base, f"no KEDA ScaledObject for {d}")


def check_deployment(where, name, dep, flat, secrets, env_needed, gen):
    spec = dep["spec"]["template"]["spec"]
    for c in spec["containers"]:
        w = f"{where}: {name}/{c['name']}"
        if c.get("image") != "herald":
            image_pinned(w, c.get("image", ""))
            continue
        sub = (c.get("args") or [""])[0]
        if not check_program(w, sub) or sub not in DAEMON_LISTEN:
            continue
        port = listen_of(flat, sub, w)
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if port not in ports.values():
            err(w, f"containerPort must be {port} ({DAEMON_LISTEN[sub]})")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            hg = (c.get(probe) or {}).get("httpGet")
            if not hg:
                if probe != "startupProbe":
                    err(w, f"no {probe} httpGet")
                continue
            p = ports.get(hg["port"], hg["port"])
            if p != port:
                err(w, f"{probe} probes port {hg['port']}, the daemon listens on {port}")
            if sub in DAEMON_SECTION and hg.get("path") != "/metrics":
                err(w, f"{probe} must probe /metrics")
        if sub in DAEMON_SECTION:
            revoke = setting(flat, DAEMON_SECTION[sub] + ".revoke_timeout_ms") or 10000
            if spec.get("terminationGracePeriodSeconds", 30) <= revoke / 1000:
                err(w, f"terminationGracePeriodSeconds must exceed {DAEMON_SECTION[sub]}.revoke_timeout_ms")
        refs = {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
        have = set().union(*(secrets.get(r, set()) for r in refs)) if refs else set()
        for var in env_needed - have:
            err(w, f"herald.conf reads ${var} but no Secret in envFrom provides it")
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        cm = vols.get(mounts.get("/etc/herald"), {}).get("configMap", {}).get("name")
        if cm not in gen:
            err(w, "/etc/herald must be the herald-config ConfigMap")


def check_scaledobject(where, name, so, deps, flat):
    target = so["spec"]["scaleTargetRef"]["name"]
    if target not in deps:
        err(where, f"ScaledObject {name} scales unknown Deployment {target}")
        return
    c = deps[target][1]["spec"]["template"]["spec"]["containers"][0]
    section = DAEMON_SECTION.get((c.get("args") or [""])[0])
    parts = setting(flat, "topics.ordered_partitions") + setting(flat, "topics.unordered_partitions")
    mx = so["spec"].get("maxReplicaCount", 100)
    if mx > parts:
        err(where, f"{name}: maxReplicaCount {mx} exceeds the partitions ({parts})")
    for t in so["spec"]["triggers"]:
        md = t.get("metadata", {})
        if t.get("type") != "kafka":
            err(where, f"{name}: trigger {t.get('type')}, want kafka")
            continue
        if section and md.get("consumerGroup") != setting(flat, f"{section}.group"):
            err(where, f"{name}: consumerGroup {md.get('consumerGroup')} is not {section}.group")
        if md.get("bootstrapServers") != setting(flat, "kafka.bootstrap_servers"):
            err(where, f"{name}: bootstrapServers differs from kafka.bootstrap_servers")
        if md.get("allowIdleConsumers") != "false":
            err(where, f"{name}: allowIdleConsumers must be \"false\" (no replicas beyond partitions)")


# ---------------------------------------------------------------- units
def check_units():
    for unit in glob.glob(os.path.join(SRC, "deploy/systemd/*.service.in")):
        text = read(os.path.relpath(unit, SRC))
        prog = re.search(r"ExecStart=@HD_BINDIR@/(herald-[a-z]+)", text)
        if not prog:
            err(unit, "no ExecStart of a herald program")
            continue
        check_program(unit, prog.group(1)[len("herald-"):])
        stop = re.search(r"TimeoutStopSec=(\d+)s", text)
        section = {"herald-webhookd": "webhook", "herald-maild": "email"}.get(prog.group(1))
        if section:
            revoke = setting({}, section + ".revoke_timeout_ms") or 10000
            if not stop or int(stop.group(1)) < revoke / 1000 + 5:
                err(unit, f"TimeoutStopSec must exceed {section}.revoke_timeout_ms + 5 s")
        if "ExecReload" in text.replace("No ExecReload", ""):
            err(unit, "ExecReload, but no herald daemon reloads on SIGHUP")
        for d in ("User=herald", "Restart=on-failure", "@HD_HARDENING@"):
            if d not in text:
                err(unit, f"lacks {d}")
        check_text_refs(unit, text)
    hard = read("deploy/systemd/hardening.conf")
    for d in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"):
        if d not in hard.splitlines():
            err("deploy/systemd/hardening.conf", f"lacks {d}")


def yaml_files():
    return sorted(glob.glob(os.path.join(SRC, "deploy/compose/*.yaml")) +
                  glob.glob(os.path.join(SRC, "deploy/k8s/**/*.yaml"), recursive=True))


def write_loadable(outdir):
    """Copies of the deploy configs for the real loader (test_deploy_files.sh)."""
    os.makedirs(outdir, exist_ok=True)
    for rel in ("deploy/herald.conf", "deploy/compose/herald.conf", "deploy/k8s/base/herald.conf"):
        with open(os.path.join(outdir, rel.replace("/", "_")), "w", encoding="utf-8") as f:
            f.write(read(rel))


def main():
    if len(sys.argv) > 3 and sys.argv[2] == "--loadable":
        write_loadable(sys.argv[3])
    for rel in yaml_files():
        try:
            list(yaml.safe_load_all(read(os.path.relpath(rel, SRC))))
        except yaml.YAMLError as e:
            err(rel, f"YAML: {e}")
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        return 1
    stages, runs, dtext = dockerfile("deploy/compose/Dockerfile")
    readme = read("README.md")
    check_readme_build(readme, runs)
    check_compose(stages)
    check_k8s()
    check_units()
    check_config("deploy/herald.conf")
    for rel in yaml_files():
        check_text_refs(rel, read(os.path.relpath(rel, SRC)))
    check_text_refs("deploy/compose/Dockerfile", dtext)
    sections = readme_sections(readme, {"Deployment", "Runbook"})
    if "## Runbook" not in sections or "## Deployment" not in sections:
        err("README.md", "Deployment and Runbook sections are missing")
    check_text_refs("README.md", sections)
    for n in sorted(set(notes)):
        print("note:", n)
    for e in errors:
        print("FAIL:", e)
    print(f"deploy files: {len(errors)} problem(s); {len(TABLE)} settings, {len(METRICS)} metric "
          f"names, {len(PROGRAMS)} programs known")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
