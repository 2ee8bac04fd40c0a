#!/usr/bin/env bash
# `npm test`: the type checks, then the unit and engine suites in the foreground while the end-to-end suite (its
# QEMU guests) runs beside them. On two cores the end-to-end suite leaves about a third of the machine idle (boots,
# timers, load balancer drains, reboots) and the engine suite about a quarter; in sequence the three took about
# 41 minutes. Each end-to-end line is prefixed `[e2e]`. Both sides always finish; the status is 0 only when both pass.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

npx tsc --noEmit -p . && npx tsc --noEmit -p policies || exit 1

started=$SECONDS
( set -o pipefail; npm run --silent test:e2e 2>&1 | sed -u 's/^/[e2e] /' ) &
e2e=$!

npm run --silent test:unit && npm run --silent test:engine
fast=$?
echo "unit and engine suites: exit $fast after $(( SECONDS - started )) s"

wait "$e2e"
slow=$?
echo "end-to-end suite: exit $slow after $(( SECONDS - started )) s"
[ "$fast" -eq 0 ] && [ "$slow" -eq 0 ]
