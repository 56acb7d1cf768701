#!/usr/bin/env bash
# `cmake --install` puts libherald, herald/herald.h and herald.pc where a billing
# build finds them: the shipped example compiles and links against the installed
# copy through pkg-config alone.
set -euo pipefail
src=${HERALD_SOURCE_DIR:?}
build=$(dirname "${HERALD_BIN_DIR:?}")
prefix=${HERALD_TEST_TMP:?}/prefix
rm -rf "$prefix"; mkdir -p "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name herald.pc | head -1)
[ -n "$pc" ] || { echo "herald.pc not installed"; exit 1; }
test -f "$prefix/include/herald/herald.h" || { echo "herald.h not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
# The prefix in herald.pc is the configured one; point it at the test prefix.
flags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs herald)
san=""
[ "${HERALD_SANITIZE:-0}" = 1 ] && san="-fsanitize=address,undefined"  # libherald was built so
"${HERALD_CC:-cc}" -std=c11 -Wall -Wextra -Werror $san "$src/producers/examples/emit.c" $flags \
   -Wl,-rpath,"$prefix/lib" -o "$HERALD_TEST_TMP/emit"
out=$("$HERALD_TEST_TMP/emit" 2>&1 || true)   # no arguments: prints usage, exits 2
case "$out" in *usage:*) ;; *) echo "installed example does not run: $out"; exit 1 ;; esac
for b in herald herald-dev herald-registry herald-produce herald-sub herald-tail herald-catalogue \
         herald-webhookd herald-maild herald-listen herald-replay herald-status herald-schema; do
  test -x "$prefix/bin/$b" || { echo "$b not installed"; exit 1; }
done
test -f "$prefix/share/herald/schemas/envelope.avsc" || { echo "schemas not installed"; exit 1; }
echo "install ok: $(pkg-config --define-variable=prefix="$prefix" --modversion herald)"
