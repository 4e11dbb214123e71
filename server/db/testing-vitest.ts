/**
 * Vitest helper: a fresh migrated database per describe block. If it cannot be created (e.g. the
 * test PostgreSQL server is not running), EVERY test of the block fails with the reason (they are
 * not skipped).
 *
 *   describe.each(PROVIDERS)('... on %s', (provider) => {
 *     const tdb = useTestDatabase(provider)
 *     it('...', async () => { const { db } = tdb() ... })
 *   })
 */
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { createTestDatabase, type TestDatabase } from './testing.ts'
import type { Provider } from './url.ts'

export function useTestDatabase(provider: Provider): () => TestDatabase {
  let tdb: TestDatabase | undefined
  let error: unknown
  beforeAll(async () => {
    try {
      tdb = await createTestDatabase(provider)
    } catch (e) {
      error = e
    }
  })
  beforeEach(() => {
    if (error) throw error
  })
  afterAll(async () => {
    await tdb?.cleanup()
  })
  return () => {
    if (!tdb) throw (error as Error) ?? new Error('the test database is not ready')
    return tdb
  }
}
