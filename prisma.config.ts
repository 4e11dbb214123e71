// Prisma CLI configuration (Prisma 7). The CLI is used here for `prisma generate` (and validate/format)
// only: its migration commands need a native schema engine that cannot be downloaded on these
// machines. Migrations are generated with the wasm schema engine (scripts/db-migration.ts) and
// applied at server start by server/db/migrate.ts.
//
// Two schemas, one source of truth: prisma/schema.prisma (SQLite) and the derived
// prisma/postgres/schema.prisma (PostgreSQL); `bash scripts/db-generate.sh` generates both clients.
import { defineConfig } from 'prisma/config'

// Without this, every CLI command first tries to download the native schema engine (unreachable).
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= '/bin/false'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./var/controlroom.db' },
})
