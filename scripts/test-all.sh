#!/usr/bin/env bash
# `npm test`: the type checks, then the unit and engine suites in the foreground while the end-to-end suite (its
# QEMU guests) runs beside them. On two cores the end-to-end suite leaves about a third of the machine idle (boots,
# timers, load balancer drains, reboots) and the engine suite about a quarter; in sequence the three took about
# 41 minutes. Each end-to-end line is prefixed `[e2e]`. Both sides always finish; the status is 0 only when both pass.
# At the end: a table of each suite's tests and wall time (jest's JSON results, in a temporary directory), and the
# totals as one `N passed, N failed` line.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
started=$SECONDS

npx tsc --noEmit -p . && npx tsc --noEmit -p policies
typecheck=$?
echo "{\"suite\":\"typecheck\",\"seconds\":$(( SECONDS - started )),\"exit\":$typecheck}" > "$results/typecheck.time"
[ "$typecheck" -eq 0 ] || exit 1

# One suite: jest with its results as JSON, and its wall time.
suite() {
    local name=$1; shift
    local from=$SECONDS
    npm run --silent "test:$name" -- --json --outputFile="$results/$name.json" "$@"
    local status=$?
    echo "{\"suite\":\"$name\",\"seconds\":$(( SECONDS - from )),\"exit\":$status}" > "$results/$name.time"
    return $status
}

( set -o pipefail; suite e2e 2>&1 | sed -u 's/^/[e2e] /' ) &
e2e=$!

suite unit && suite engine
fast=$?
echo "unit and engine suites: exit $fast after $(( SECONDS - started )) s"

wait "$e2e"
slow=$?
echo "end-to-end suite: exit $slow after $(( SECONDS - started )) s"

node scripts/test-times.js "$results" "$(( SECONDS - started ))"
[ "$fast" -eq 0 ] && [ "$slow" -eq 0 ]
