/**
 * The server side of bench/hostile.bench.ts, in its own process (so the bench's client, which
 * builds and sends megabyte texts, is not measured as server latency): the proxy gate and the tRPC
 * route handler on a local port over a fresh SQLite database, the compile pool warmed as at server
 * start. Prints `READY <url>` and serves until its stdin closes.
 */
import { rmSync } from 'node:fs'
import { setDb } from '../server/db/client.ts'
import { createTestDatabase } from '../server/db/testing.ts'
import { warmCompilePool } from '../server/library/compile-pool.ts'
import { startHarness } from '../server/api/http-harness.ts'

const tdb = await createTestDatabase('sqlite')
setDb(tdb.db, tdb.url)
const h = await startHarness()
await warmCompilePool()
console.log(`READY ${h.url}`)
process.stdin.resume()
process.stdin.on('end', async () => {
  await h.close()
  await tdb.cleanup()
  if (process.env.CONTROLROOM_HOME) rmSync(process.env.CONTROLROOM_HOME, { recursive: true, force: true })
  process.exit(0)
})
