#!/usr/bin/env bash
# The Debian package: built with cpack from a release build, installed into the
# real system with dpkg, every installed program answers --help, the unit files
# pass systemd-analyze verify, the installed herald-webhookd (run through the
# installed `herald` front command) delivers one event end to end against a
# `herald dev` stack from the build tree and stops cleanly on SIGTERM, and the
# package removes and purges without leaving a file, the user or the group.
# The package is purged on every exit path (trap). Skips (exit 0, "SKIPPED: …")
# without root or passwordless sudo, or when a herald package is already
# installed (the test must not replace an installation it did not make).
set -euo pipefail
src=${HERALD_SOURCE_DIR:?}
bindir=${HERALD_BIN_DIR:?}
tmp=${HERALD_TEST_TMP:?}
mkdir -p "$tmp"

skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n)
else skip "installing a .deb needs root or passwordless sudo"; fi
command -v dpkg >/dev/null && command -v cpack >/dev/null || skip "dpkg or cpack missing"
# (No `grep -q` after a pipe here: with pipefail its early exit fails the writer.)
if dpkg-query -W -f='${Status}' herald 2>/dev/null | grep "installed" >/dev/null; then
        skip "a herald package is already installed on this machine; not touching it"
fi

# --- build the .deb -------------------------------------------------------------
# The test's own build tree is reused when it is already a release tree for /usr;
# otherwise a release build of the package (tests off) lives in $tmp/build-deb and
# is rebuilt incrementally on later runs.
tree=$(dirname "$bindir")
cache() { sed -n "s/^$1:[A-Z]*=//p" "$tree/CMakeCache.txt" 2>/dev/null; }
case "$(cache CMAKE_BUILD_TYPE)" in Release|RelWithDebInfo) rel=1 ;; *) rel=0 ;; esac
if [ $rel = 1 ] && [ "$(cache HERALD_SANITIZE)" = OFF ] && [ "$(cache HERALD_FUZZ)" = OFF ] &&
   [ "$(cache CMAKE_INSTALL_PREFIX)" = /usr ]; then
        echo "== packaging the release tree $tree"
        rm -f "$tree"/herald_*.deb
        (cd "$tree" && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; fail "cpack"; }
        deb=$(ls "$tree"/herald_*.deb)
else
        echo "== $tree is not a release tree for /usr: deploy/package.sh $tmp/build-deb"
        deb=$("$src/deploy/package.sh" "$tmp/build-deb" 2>"$tmp/package.log") ||
                { cat "$tmp/package.log"; fail "deploy/package.sh"; }
fi
[ -f "$deb" ] || fail "no .deb produced"
echo "   $deb ($(stat -c %s "$deb") bytes)"
version=$(sed -n 's/^project(herald VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" = "herald $version" ] ||
        fail "package is $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version), want herald $version"

# --- install, with cleanup on every path ------------------------------------------
pids=()
installed=0
cleanup() {
        local rc=$?
        for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        if [ $installed = 1 ]; then
                "${sudo[@]}" rm -f "$tmp/herald.conf.installed"
                "${sudo[@]}" dpkg -P herald >/dev/null 2>&1 || echo "cleanup: dpkg -P herald failed" >&2
        fi
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== dpkg -i"
installed=1
"${sudo[@]}" dpkg -i "$deb" >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log"; fail "dpkg -i"; }
mapfile -t files < <(dpkg -L herald)
getent passwd herald >/dev/null || fail "postinst made no herald user"
[ "$(stat -c '%a %U %G' /etc/herald/herald.conf)" = "640 root herald" ] ||
        fail "/etc/herald/herald.conf is $(stat -c '%a %U %G' /etc/herald/herald.conf), want 640 root herald"
for f in /usr/include/herald/herald.h /usr/share/herald/schemas/envelope.avsc \
         /usr/lib/systemd/system/herald-webhookd@.service \
         /usr/lib/systemd/system/herald-maild@.service \
         /usr/lib/systemd/system/herald-registry.service; do
        [ -f "$f" ] || fail "$f not installed"
done
# Every herald program reads /etc/herald/herald.conf when it is given no config,
# so tests running beside this one would pick up the example: it is kept aside
# until the removal checks, leaving a window of about a second at each end.
conf_aside=$tmp/herald.conf.installed
"${sudo[@]}" mv /etc/herald/herald.conf "$conf_aside"
pkg-config --exists herald || fail "herald.pc not found by pkg-config"
[ "$(pkg-config --modversion herald)" = "$version" ] || fail "herald.pc version"
ldconfig -p | grep 'libherald.so.0 ' >/dev/null || fail "libherald.so.0 not in the linker cache"

echo "== installed programs answer --help"
progs=$(printf '%s\n' "${files[@]}" | grep -E '^/usr/bin/herald(-|$)' || true)
for want in herald herald-webhookd herald-registry herald-sub herald-produce herald-listen; do
        grep -qx "/usr/bin/$want" <<<"$progs" || fail "/usr/bin/$want not in the package"
done
for p in $progs; do
        out=$("$p" --help 2>&1) || fail "$p --help exited $?: $out"
        grep -qi usage <<<"$out" || fail "$p --help printed no usage: $out"
done
echo "   $(wc -w <<<"$progs") programs"

echo "== systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null; then
        echo "SKIPPED (systemd-analyze verify): systemd is not installed here"
else
        units=(herald-webhookd@1.service herald-registry.service)
        if [ -x /usr/bin/herald-maild ]; then units+=(herald-maild@1.service)
        else echo "   note: herald-maild@.service not verified: herald-maild is not built yet"; fi
        for u in "${units[@]}"; do
                # Unknown keys are only warnings (exit 0): any output is a failure.
                out=$(cd "$tmp" && systemd-analyze verify "$u" 2>&1) || fail "$u: $out"
                [ -z "$out" ] || fail "$u: $out"
                echo "   $u ok"
        done
        for d in NoNewPrivileges=yes ProtectSystem=strict User=herald Restart=on-failure \
                 PrivateTmp=yes KillSignal=SIGTERM; do
                grep -qx "$d" /usr/lib/systemd/system/herald-webhookd@.service ||
                        fail "herald-webhookd@.service lacks $d"
        done
        # The sandbox as systemd scores it (0 = locked down, 10 = exposed).
        for u in herald-webhookd@.service herald-maild@.service herald-registry.service; do
                lvl=$(cd "$tmp" && systemd-analyze security --offline=yes \
                        "/usr/lib/systemd/system/$u" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
                [ -n "$lvl" ] || fail "systemd-analyze security gave no level for $u"
                awk -v l="$lvl" 'BEGIN { exit !(l <= 2.0) }' || fail "$u exposure $lvl, want <= 2.0"
                echo "   $u exposure $lvl"
        done
        if grep -q '^ExecReload' /usr/lib/systemd/system/herald-*.service; then
                fail "a unit has ExecReload but no daemon reloads on SIGHUP"
        fi
fi

# --- end to end with the installed daemon -----------------------------------------
echo "== installed herald-webhookd delivers against herald dev (build tree)"
secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
state=$tmp/dev
rm -rf "$state" "$tmp"/*.out "$tmp"/*.jsonl; mkdir -p "$state"
# Waits up to $3 seconds for file $1 to contain the extended regex $2 on a
# complete line.
wait_line() {
        local i
        for ((i = 0; i < $3 * 10; i++)); do
                if grep -Eq "$2" "$1" 2>/dev/null && [ -z "$(tail -c1 "$1")" ]; then return 0; fi
                sleep 0.1  # polling a file for a condition
        done
        return 1
}
"$bindir/herald" dev --state-dir "$state" >"$state/out" 2>"$state/dev.log" &
pids+=($!)
wait_line "$state/out" "herald dev: ready" 90 || { cat "$state/dev.log"; fail "herald dev not ready"; }
set -a; . "$state/env"; set +a

/usr/bin/herald listen --listen 127.0.0.1:0 --cert "$HERALD_DEV_CERT" --key "$HERALD_DEV_KEY" \
        --secret "$secret" --out "$tmp/rx.jsonl" >"$tmp/listen.out" 2>"$tmp/listen.log" &
pids+=($!)
wait_line "$tmp/listen.out" "listening on https://127.0.0.1:[0-9]+" 20 ||
        { cat "$tmp/listen.log"; fail "herald listen not ready"; }
rxport=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/listen.out")

conf=$tmp/whd.conf
cat >"$conf" <<EOF
kafka = { bootstrap_servers = "$HERALD_BOOTSTRAP"; session_timeout_ms = 6000; };
registry = { urls = [ "$HERALD_REGISTRY_URL" ]; };
webhook = {
  group = "pkg-test";
  tls = { ca_file = "$HERALD_DEV_CA"; };
  connect_to = [ "hooks.dev.test:443:127.0.0.1:$rxport" ];
  commit_interval_ms = 50; revoke_timeout_ms = 2000;
  metrics_listen = "127.0.0.1:0";
};
EOF
unset HERALD_BOOTSTRAP HERALD_REGISTRY_URL
/usr/bin/herald sub --config "$conf" create --file - >/dev/null 2>"$tmp/sub.log" <<EOF ||
{"id":"pkg-test","channel":"webhook","event_types":["account.created"],
 "webhook":{"url":"https://hooks.dev.test/hook","secrets":["$secret"]}}
EOF
        { cat "$tmp/sub.log"; fail "herald sub create"; }
sed -n '/"type":"account.created"/{p;q}' "$src/deploy/dev/sample-events.jsonl" |
        /usr/bin/herald produce --config "$conf" --file - >/dev/null 2>"$tmp/produce.log" ||
        { cat "$tmp/produce.log"; fail "herald produce"; }

# Under strace where it works, to hold the daemon's system calls against the
# units' SystemCallFilter below (the filter itself needs systemd to run).
tracer=()
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
        tracer=(strace -f -qq -o "$tmp/syscalls.txt")
fi
"${tracer[@]}" /usr/bin/herald webhookd --config "$conf" >"$tmp/whd.out" 2>"$tmp/whd.log" &
whd=$!
pids+=($whd)
wait_line "$tmp/whd.out" "consuming as group pkg-test, metrics on http://127.0.0.1:[0-9]+/metrics" 60 ||
        { cat "$tmp/whd.log"; fail "webhookd not ready"; }
mport=$(sed -n 's/.*metrics on http:\/\/127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' "$tmp/whd.out")
[ -n "$mport" ] && [ "$mport" != 0 ] || fail "no metrics port in the readiness line: $(cat "$tmp/whd.out")"
wait_line "$tmp/rx.jsonl" '"valid": *true.*"status": *204|"status": *204.*"valid": *true' 60 ||
        { cat "$tmp/whd.log" "$tmp/rx.jsonl" 2>/dev/null; fail "no verified delivery reached herald listen"; }
echo "   delivered: $(head -1 "$tmp/rx.jsonl" | cut -c1-120)"
metrics=$(curl -fsS "http://127.0.0.1:$mport/metrics") || fail "metrics endpoint"
for _ in $(seq 100); do
        grep -q '^herald_deliveries_total{result="delivered"} 1$' <<<"$metrics" && break
        sleep 0.1  # the counter follows the receiver's 204 by one loop turn
        metrics=$(curl -fsS "http://127.0.0.1:$mport/metrics")
done
grep -q '^herald_deliveries_total{result="delivered"} 1$' <<<"$metrics" ||
        fail "metrics do not count the delivery: $(grep deliveries_total <<<"$metrics")"

# SIGTERM: finish, commit, leave the group, exit 0 well inside the unit's TimeoutStopSec.
stop_limit=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' /usr/lib/systemd/system/herald-webhookd@.service)
start=$(date +%s)
target=$whd
if [ ${#tracer[@]} -gt 0 ]; then   # strace's child is the daemon (herald execs it)
        target=$(pgrep -P "$whd" -x herald-webhookd) || fail "no herald-webhookd under strace"
fi
kill -TERM "$target"
rc=0; wait "$whd" || rc=$?
pids=("${pids[@]/$whd}")
took=$(( $(date +%s) - start ))
[ $rc = 0 ] || { cat "$tmp/whd.log"; fail "herald-webhookd exited $rc on SIGTERM"; }
[ "$took" -lt "${stop_limit:-0}" ] || fail "SIGTERM stop took ${took}s, unit allows ${stop_limit}s"
echo "   SIGTERM: clean exit in ${took}s (TimeoutStopSec=${stop_limit}s)"

if [ ${#tracer[@]} -eq 0 ]; then
        echo "SKIPPED (system calls against SystemCallFilter): strace is missing or cannot trace here"
elif ! command -v systemd-analyze >/dev/null; then
        echo "SKIPPED (system calls against SystemCallFilter): systemd-analyze is missing"
else
        systemd-analyze syscall-filter >"$tmp/filter-groups.txt" 2>/dev/null
        python3 - "$tmp/syscalls.txt" "$tmp/filter-groups.txt" \
                /usr/lib/systemd/system/herald-webhookd@.service <<'PY' || fail "system calls outside the units' filter"
import re, sys
trace, groups_txt, unit = sys.argv[1:]
groups, cur = {}, None
for line in open(groups_txt):
    if line.startswith("@"):
        cur = line.split()[0]
        groups[cur] = set()
    elif cur and line.strip() and not line.strip().startswith("#"):
        groups[cur].add(line.split()[0])
def expand(names):
    out = set()
    for n in names:
        out |= expand(groups.get(n, ())) if n.startswith("@") else {n}
    return out
# systemd: the first entry is an allow-list here; later ones add (allow) or remove
# (~deny) system calls in the order they come.
allow = set()
for line in open(unit):
    if line.startswith("SystemCallFilter="):
        v = line.split("=", 1)[1].split()
        if v[0].startswith("~"):
            allow -= expand([v[0][1:]] + v[1:])
        else:
            allow |= expand(v)
used = set(re.findall(r"^\d+\s+([a-z0-9_]+)\(", open(trace).read(), re.M))
bad = sorted(used - allow)
print(f"   {len(used)} distinct system calls, all inside the units' SystemCallFilter" if not bad
      else f"   system calls the units' SystemCallFilter refuses: {bad}")
sys.exit(1 if bad or not used else 0)
PY
fi

# --- remove and purge -------------------------------------------------------------
echo "== dpkg -r, dpkg -P"
"${sudo[@]}" mv "$conf_aside" /etc/herald/herald.conf
[ "$(stat -c "%a %U %G" /etc/herald/herald.conf)" = "640 root herald" ] || fail "conffile lost its mode"
"${sudo[@]}" dpkg -r herald >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/herald-webhookd ] || fail "dpkg -r left /usr/bin/herald-webhookd"
[ -f /etc/herald/herald.conf ] || fail "dpkg -r removed the conffile (only purge should)"
"${sudo[@]}" dpkg -P herald >"$tmp/dpkg-p.log" 2>&1 || { cat "$tmp/dpkg-p.log"; fail "dpkg -P"; }
installed=0
left=()
for f in "${files[@]}"; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        # Directories shared with other packages (/usr/bin, /usr/share/doc …) stay.
        if [ -d "$f" ] && [ ! -L "$f" ] && dpkg -S "$f" >/dev/null 2>&1; then continue; fi
        left+=("$f")
done
[ ${#left[@]} = 0 ] || fail "left after purge: ${left[*]}"
! getent passwd herald >/dev/null || fail "purge left the herald user"
! getent group herald >/dev/null || fail "purge left the herald group"
! dpkg-statoverride --list /etc/herald/herald.conf >/dev/null 2>&1 || fail "purge left the stat override"
echo "package ok: $(basename "$deb")"
