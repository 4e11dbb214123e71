#!/usr/bin/env bash
# Generates both Prisma clients (SQLite and PostgreSQL) under server/db/generated/ (gitignored).
# Called by scripts/setup.sh (so by `npm start` and `npm test`). Idempotent and quick when nothing
# changed (a stamp holds the hash of the schema and of the Prisma version).
set -euo pipefail
cd "$(dirname "$0")/.."
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-/bin/false}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1

node scripts/db-derive-postgres.mjs >/dev/null
STAMP=server/db/generated/.stamp
WANT="$(cat prisma/schema.prisma prisma/postgres/schema.prisma node_modules/prisma/package.json node_modules/@prisma/client/package.json | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -f server/db/generated/sqlite/client.ts ] && [ -f server/db/generated/postgres/client.ts ]; then
  exit 0
fi
echo "[db-generate] generating Prisma clients (sqlite, postgresql)"
rm -rf server/db/generated/sqlite server/db/generated/postgres
npx prisma generate --schema prisma/schema.prisma > /dev/null
npx prisma generate --schema prisma/postgres/schema.prisma > /dev/null
mkdir -p server/db/generated
echo "$WANT" > "$STAMP"
