/**
 * restart.test.ts on PostgreSQL, the database shared deployments use: the same tests, with
 * setupEngineTest creating a PostgreSQL database from TEST_DATABASE_URL_PG instead of a SQLite file.
 */
process.env.ENGINE_TEST_PROVIDER = 'postgresql'
if (!process.env.TEST_DATABASE_URL_PG)
  throw new Error(
    'restart.pg.test.ts needs TEST_DATABASE_URL_PG (a PostgreSQL server the tests may create databases in)',
  )
await import('./restart.test.ts')

export {}
