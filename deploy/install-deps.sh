#!/usr/bin/env bash
# Installs the Debian 12 packages herald needs to build, test and benchmark.
# Idempotent: runs apt-get update/install only when something is missing.
#   deploy/install-deps.sh            build + test packages
#   deploy/install-deps.sh --bench    also the benchmark baselines (kcat, nginx with its
#                                     Lua module, wrk, postfix)
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      librdkafka-dev libcurl4-openssl-dev libssl-dev libavro-dev libconfig-dev
      libjansson-dev libmicrohttpd-dev openssl curl python3 python3-aiosmtpd python3-avro
      python3-yaml ca-certificates)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(kcat nginx libnginx-mod-http-lua wrk postfix)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# postfix only for its smtp-sink/smtp-source tools: "No configuration" writes no
# main.cf, so no mail system is set up and nothing listens on port 25.
echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
