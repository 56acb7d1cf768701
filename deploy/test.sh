#!/usr/bin/env bash
# test.sh: installs what is missing, builds the test configuration (clang, ASan +
# UBSan, libFuzzer targets) and runs the whole ctest suite. Extra args go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh test
cd build-test
ctest --output-on-failure -j2 --timeout 600 "$@"
