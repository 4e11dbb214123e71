#!/usr/bin/env bash
# `npm test`: installs what the tests need, starts the real services they use (PostgreSQL, Slurm),
# then runs every suite: typecheck, unit + integration (vitest), end-to-end (Playwright in Chromium).
# Prints one closing line `N passed, N failed` over all suites and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export NEXT_TELEMETRY_DISABLED=1
mkdir -p var test-results
mkdir -p var/reports; rm -f var/reports/vitest.json var/reports/e2e-results.json

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

# Real services, private to this checkout (under ./var), stopped at the end.
cleanup() {
  [ -f scripts/services/postgres.sh ] && bash scripts/services/postgres.sh stop >/dev/null 2>&1 || true
  bash scripts/services/slurm.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
if [ -f scripts/services/postgres.sh ]; then
  TEST_DATABASE_URL_PG="$(bash scripts/services/postgres.sh start | tail -1)" || { echo "PostgreSQL failed to start"; echo "0 passed, 1 failed"; exit 1; }
  export TEST_DATABASE_URL_PG
fi
eval "$(bash scripts/services/slurm.sh start | tail -1)" || { echo "Slurm failed to start"; echo "0 passed, 1 failed"; exit 1; }
export SLURM_CONF

failed_suites=()

echo "== typecheck"
# (tsconfig.json holds the stricter flags too: noUncheckedIndexedAccess, noImplicitReturns,
# noFallthroughCasesInSwitch, over the whole tree)
if ! npx tsc --noEmit -p tsconfig.json; then failed_suites+=(typecheck); fi

echo "== format and lint (Biome)"
if ! npx biome ci . --colors=off; then failed_suites+=(lint); fi

echo "== unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=var/reports/vitest.json || failed_suites+=(vitest)

echo "== end-to-end tests (Playwright, Chromium)"
if npx next build > test-results/next-build.log 2>&1; then
  npx playwright test || failed_suites+=(playwright)
else
  tail -50 test-results/next-build.log
  failed_suites+=(next-build)
fi

node scripts/test-summary.mjs "${failed_suites[@]}"
