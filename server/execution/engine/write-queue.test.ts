import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../db/testing.ts'
import type { Provider } from '../../db/url.ts'
import { saveVersion } from '../../library/workflows.ts'
import { subscribe } from '../bus.ts'
import { createStore, type EngineStore, type WriteBatch } from '../store.ts'
import type { RunEvent } from '../types.ts'
import { STREAM_GAP_MS, WriteQueue } from './write-queue.ts'

/** the write queue against a real database, counting the transactions it writes (PostgreSQL: write-queue.pg.test.ts) */
const provider = (process.env.ENGINE_TEST_PROVIDER ?? 'sqlite') as Provider

describe(`write queue (${provider})`, () => {
  let t: TestDatabase
  let store: EngineStore
  const runId = 'rwritequeue1'
  const writes: number[] = []
  /** each write takes at least this long (ms): a write in flight */
  let slowMs = 0
  let counting: EngineStore

  beforeAll(async () => {
    t = await createTestDatabase(provider)
    const yaml = 'version: 1\nname: wq\nanalysis:\n  stages:\n    - id: a\n      op: noop\n'
    const saved = await saveVersion(t.db, { id: null, name: 'test', mode: 'token', admin: true }, { yaml })
    store = createStore(t.db, t.url)
    await store.insertRun(
      {
        id: runId,
        workflowId: saved.workflow.id,
        versionId: saved.version.id,
        plan: '{}',
        planHash: 'h',
        state: 'running',
        backend: 'local',
        strategy: 'local',
        options: '{}',
        runDir: '/nowhere',
        ownerId: null,
        source: 'api',
        createdAt: new Date(),
      },
      [],
      [],
    )
    counting = Object.assign(Object.create(store) as EngineStore, {
      write: async (b: WriteBatch) => {
        writes.push(b.events.length)
        if (slowMs) await new Promise((r) => setTimeout(r, slowMs))
        return store.write(b)
      },
    })
  })
  afterAll(async () => {
    store?.close()
    await t?.cleanup()
  })

  const log = (n: number) => ({
    runId,
    type: 'run.log' as const,
    taskId: null,
    workerId: null,
    payload: { level: 'info' as const, message: `line ${n}` },
  })
  const stored = () => t.db.event.count({ where: { runId } })

  it('writes a burst of events in one transaction and emits them on the bus only once stored', async () => {
    writes.length = 0
    const q = new WriteQueue(counting, () => {})
    const seen: { ids: number[]; inDb: number }[] = []
    const pending: Promise<void>[] = []
    const unsub = subscribe(null, (evs: RunEvent[]) => {
      pending.push(stored().then((inDb) => void seen.push({ ids: evs.map((e) => e.id), inDb })))
    })
    const before = await stored()
    for (let i = 0; i < 5; i++) q.event(log(i))
    let afterCommit = -1
    q.onCommit(async () => {
      afterCommit = await stored()
    })
    await q.flush()
    await Promise.all(pending)
    unsub()
    expect(writes).toEqual([5])
    expect(seen).toHaveLength(1)
    expect(seen[0]!.ids.every((id) => id > 0)).toBe(true)
    expect(seen[0]!.inDb).toBe(before + 5)
    expect(afterCommit).toBe(before + 5)
  })

  it('group commit: what is queued while a write is in flight goes in the next write', async () => {
    writes.length = 0
    slowMs = 100
    const q = new WriteQueue(counting, () => {})
    const before = await stored()
    q.event(log(1))
    const first = q.flush()
    while (writes.length === 0) await new Promise((r) => setImmediate(r))
    q.event(log(2)) // the first write is in flight: these wait for it
    q.event(log(3))
    await first
    while ((await stored()) < before + 3) await new Promise((r) => setTimeout(r, 10))
    slowMs = 0
    expect(writes).toEqual([1, 2])
  })

  it('a steady stream: while the engine is busy at most one write per STREAM_GAP_MS; when not, each change at once', async () => {
    const stream = async (busy: boolean) => {
      writes.length = 0
      const q = new WriteQueue(
        counting,
        () => {},
        0,
        () => busy,
      )
      const before = await stored()
      const t0 = performance.now()
      // one change per turn of the event loop, as short tasks ending one by one report
      for (let i = 0; i < 40; i++) {
        q.event(log(i))
        await new Promise((r) => setImmediate(r))
      }
      await q.flush()
      const elapsed = performance.now() - t0
      expect(await stored()).toBe(before + 40)
      return { writes: writes.length, elapsed }
    }
    const busy = await stream(true)
    expect(busy.writes).toBeLessThanOrEqual(Math.floor(busy.elapsed / STREAM_GAP_MS) + 2)
    expect(busy.writes).toBeLessThan(40)
    // a chain of single tasks waits on each commit: nothing is held back. (SQLite writes within the
    // turn; PostgreSQL's writes are in flight across turns, so group commit batches them anyway)
    if (provider === 'sqlite') expect((await stream(false)).writes).toBeGreaterThanOrEqual(20)
  })

  it('redacts secrets in the messages it stores', async () => {
    const q = new WriteQueue(store, () => {})
    const secret = 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123'
    q.event({
      runId,
      type: 'run.log',
      taskId: null,
      workerId: null,
      payload: { level: 'warn', message: `the job said ${secret}` },
    })
    await q.flush()
    const last = await t.db.event.findFirst({ where: { runId }, orderBy: { id: 'desc' } })
    expect(last!.payload).not.toContain('abcdefghijklmnopqrstuvwxyz0123')
    expect(JSON.parse(last!.payload)).toMatchObject({ level: 'warn', message: expect.stringContaining('[REDACTED]') })
  })
})
