#!/usr/bin/env node
// Derives prisma/postgres/schema.prisma from the one source of truth prisma/schema.prisma:
// the PostgreSQL provider and its own client output; everything else is identical.
// Prints the path. `--check` exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const src = path.join(root, 'prisma/schema.prisma')
const dst = path.join(root, 'prisma/postgres/schema.prisma')

export function derivePostgresSchema(text) {
  let out = text
  const provider = /datasource\s+db\s*\{[^}]*?provider\s*=\s*"sqlite"/
  if (!provider.test(out)) throw new Error('prisma/schema.prisma: datasource provider "sqlite" not found')
  out = out.replace(/(datasource\s+db\s*\{[^}]*?provider\s*=\s*)"sqlite"/, '$1"postgresql"')
  const output = /(generator\s+client\s*\{[^}]*?output\s*=\s*)"\.\.\/server\/db\/generated\/sqlite"/
  if (!output.test(out))
    throw new Error('prisma/schema.prisma: generator output "../server/db/generated/sqlite" not found')
  out = out.replace(output, '$1"../../server/db/generated/postgres"')
  const header =
    '// GENERATED from prisma/schema.prisma by scripts/db-derive-postgres.mjs: DO NOT EDIT.\n' +
    '// Same models as the SQLite schema; only the provider and the client output differ.\n\n'
  return header + out
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const want = derivePostgresSchema(readFileSync(src, 'utf8'))
  const have = existsSync(dst) ? readFileSync(dst, 'utf8') : null
  if (process.argv.includes('--check')) {
    if (have !== want) {
      console.error('prisma/postgres/schema.prisma is out of date: run bash scripts/db-generate.sh')
      process.exit(1)
    }
  } else if (have !== want) {
    mkdirSync(path.dirname(dst), { recursive: true })
    writeFileSync(dst, want)
  }
  console.log(path.relative(root, dst))
}
