#!/bin/sh
# The demo a newcomer runs (build-aux/run demo), headless and bounded: it must bring up the
# stack, sign in, and print alerts as the simulated customers book, then stop cleanly.
set -eu
build=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$WB_SOURCE_ROOT/tests/stack/demo" "$build" --headless --duration 16 >"$out" 2>&1 || { cat "$out"; exit 1; }
cat "$out"
alerts=$(grep -c '^alert ' "$out" || true)
echo "# $alerts alerts printed"
[ "$alerts" -ge 3 ] || { echo "expected at least 3 alerts"; exit 1; }
grep -q '<b>Bob & Co</b>' "$out" || { echo "the customer name with markup was not shown literally"; exit 1; }
# By default the demo's project has its legacy keys off: the app rang with the publishable key.
grep -q 'listening on .*publishable key, Realtime 2.0.0' "$out" || { echo "the app did not use the publishable key"; exit 1; }
grep -q '^demo: stopped' "$out"
