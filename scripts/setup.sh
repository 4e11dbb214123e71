#!/usr/bin/env bash
# Everything both `npm start` and `npm test` need on a fresh clone: npm packages, Debian packages,
# the generated Prisma clients. Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

# npm packages: reinstall when the lock file changed since the last install.
STAMP=node_modules/.controlroom-lock-stamp
if [ ! -f "$STAMP" ] || ! cmp -s package-lock.json "$STAMP"; then
  echo "[setup] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$STAMP"
fi

if [ "${CONTROLROOM_SKIP_SYSTEM_DEPS:-0}" != "1" ]; then
  bash scripts/system-deps.sh
fi

if [ -f scripts/db-generate.sh ]; then
  bash scripts/db-generate.sh
fi

# the hep task runtime, built ahead of time to JavaScript (no TypeScript compiled at task start)
node server/hep/build-runtime.mjs
node server/cli/build-cli.mjs
