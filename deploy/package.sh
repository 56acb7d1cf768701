#!/usr/bin/env bash
# package.sh [BUILD_DIR]: builds the Debian package. A release build configured
# for /usr in BUILD_DIR (default build-deb/), then `cpack -G DEB` there; prints
# the path of the .deb (BUILD_DIR/herald_VERSION_ARCH.deb).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-deb}
mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
      -DHERALD_SANITIZE=OFF -DHERALD_FUZZ=OFF -DHERALD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$jobs" >/dev/null
rm -f "$dir"/herald_*.deb
(cd "$dir" && cpack -G DEB >/dev/null 2>&1) || { echo "package.sh: cpack failed (run cpack -G DEB in $dir)" >&2; exit 1; }
ls "$dir"/herald_*.deb
