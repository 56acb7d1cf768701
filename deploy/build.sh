#!/usr/bin/env bash
# build.sh [release|test]: configures and builds herald.
#   release -> build/       (RelWithDebInfo, gcc or cc)
#   test    -> build-test/  (clang, ASan + UBSan, libFuzzer targets)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-release}
jobs=$(nproc 2>/dev/null || echo 2)
case "$mode" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_SANITIZE=OFF -DHERALD_FUZZ=OFF) ;;
  test)    dir=build-test; export CC=clang
           flags=(-DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON -DHERALD_FUZZ=ON) ;;
  *) echo "usage: $0 [release|test]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$jobs"
