/** write-queue.test.ts on PostgreSQL (PgStore: the engine's own node-postgres connection). */
process.env.ENGINE_TEST_PROVIDER = 'postgresql'
if (!process.env.TEST_DATABASE_URL_PG)
  throw new Error(
    'write-queue.pg.test.ts needs TEST_DATABASE_URL_PG (a PostgreSQL server the tests may create databases in)',
  )
await import('./write-queue.test.ts')

export {}
