/**
 * The shared event stream (stream.ts) over real HTTP, on both transports: `/api/events` (the route
 * the UI uses, behind the access gate: server/api/http-harness.ts) and tRPC's `run.events` served by
 * Node's HTTP server. 20 SSE subscribers (some joining late, one reconnecting) of a run of 2,000
 * tasks, each must get every stored event of the run exactly once and in id order. A subscriber that
 * does not read gets a coalesced backlog that folds to the same counts, and holds nobody back.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHTTPServer } from '@trpc/server/adapters/standalone'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyEvents, initLive, type LiveEvent } from '../../components/run/liveState.ts'
import { appRouter } from '../api/root.ts'
import { startHarness, type Harness } from '../api/http-harness.ts'
import { createInternalContext } from '../api/trpc.ts'
import { forgetDb, setDb } from '../db/client.ts'
import { emit } from './bus.ts'
import { setEngine } from './engine.ts'
import { getRun, startRun } from './runs.ts'
import { SLOW_TURNS, streamEncodings, streamRunEvents, streamStats, TURN_MS } from './stream.ts'
import { subscribeOverHttp, type SseSubscription } from './stream-client.ts'
import { coalesceEvents, decodeStreamMessage } from './stream-message.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'
import type { RunEvent } from './types.ts'

const TOKEN = `stream-test-token-${'s'.repeat(24)}`
process.env.CONTROLROOM_TOKEN = TOKEN
delete process.env.CONTROLROOM_AUTH
delete process.env.CONTROLROOM_ALLOWED_HOSTS
const auth = { authorization: `Bearer ${TOKEN}` }

let env: EngineTestEnv
let server: ReturnType<typeof createHTTPServer>
let baseUrl: string
/** the access gate and the route handlers, as `next start` serves them */
let harness: Harness

beforeAll(async () => {
  env = await setupEngineTest()
  setDb(env.t.db, env.t.url)
  setEngine(env.engine)
  server = createHTTPServer({
    basePath: '/api/trpc/',
    router: appRouter,
    createContext: () => createInternalContext({ db: env.t.db }),
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  harness = await startHarness()
})
afterAll(async () => {
  await new Promise((res) => server?.close(res))
  await harness?.close()
  setEngine(undefined)
  await env?.cleanup()
  forgetDb()
})

function wideWorkflow(name: string, n: number): string {
  const stages = Array.from({ length: n }, (_, i) => `    - id: n${i}\n      op: noop\n      needs: []\n`).join('')
  return `version: 1\nname: ${name}\nanalysis:\n  stages:\n${stages}`
}

async function until(cond: () => boolean, what: string, timeoutMs = 60_000) {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('the event stream: one stream, many viewers', () => {
  it.each([
    ['/api/events', 'events'],
    ['run.events (tRPC)', 'trpc'],
  ] as const)(
    '%s: 20 HTTP subscribers (late joiners and a reconnect among them) each get every event once, in order',
    async (_, transport) => {
      const versionId = await env.save(wideWorkflow(`fanout-${transport}`, 2000))
      const { runId } = await startRun({ versionId }, env.engine)
      const received: number[][] = Array.from({ length: 20 }, () => [])
      const subs: SseSubscription[] = []
      const open = (i: number, from: number | null) =>
        subscribeOverHttp({
          baseUrl: transport === 'events' ? harness.url : baseUrl,
          transport,
          headers: auth,
          runId,
          lastEventId: from,
          onMessage: (m) => {
            for (const e of m.events) received[i]!.push(e.id)
            expect(m.coalesced).toBe(false)
          },
        })
      // 15 from the start, 5 join while the run goes on (they catch up from memory or the store)
      for (let i = 0; i < 15; i++) subs[i] = open(i, 0)
      await until(() => received[0]!.length > 500, 'the first events')
      for (let i = 15; i < 20; i++) subs[i] = open(i, 0)
      // one viewer drops its connection and resumes from the last id it received
      await until(() => received[3]!.length > 1500, 'more events')
      subs[3]!.close()
      await subs[3]!.done
      const resumeFrom = received[3]![received[3]!.length - 1]!
      subs[3] = open(3, resumeFrom)

      await env.waitFor(runId)
      const stored = (
        await env.t.db.event.findMany({
          where: { runId, type: { not: 'control' } },
          orderBy: { id: 'asc' },
          select: { id: true },
        })
      ).map((e) => e.id)
      expect(stored.length).toBe(3 * 2000 + 3)
      await until(
        () => received.every((r) => r[r.length - 1] === stored[stored.length - 1]),
        'every subscriber to reach the last event',
      )
      const stats = await streamStats(env.t.db, runId)
      expect(stats?.subscribers).toBe(20)
      for (const s of subs) s.close()
      await Promise.all(subs.map((s) => s.done))
      for (const [i, ids] of received.entries()) {
        expect(subs[i]!.error).toBeNull()
        expect(ids, `subscriber ${i}`).toEqual(stored)
      }
      // the feed was released with its last subscriber
      let released = false
      await until(() => {
        void streamStats(env.t.db, runId).then((s) => (released = s === null))
        return released
      }, 'the feed to be released')
    },
    120_000,
  )

  it('one batch of 6,000 events on the bus reaches 20 HTTP subscribers as it is: none coalesced, encoded once', async () => {
    // the engine's burst, made here so that it is one batch whatever the machine's load: a run's feed
    // takes what the bus emits as it is (a run that is not stored: nobody else writes its events)
    const runId = `burst-${Date.now().toString(36)}`
    let joined = false
    const received: number[][] = Array.from({ length: 20 }, () => [])
    const messages: number[] = Array.from({ length: 20 }, () => 0)
    let coalesced = 0
    const subs = received.map((ids, i) =>
      subscribeOverHttp({
        baseUrl: harness.url,
        headers: auth,
        runId,
        onMessage: (m) => {
          messages[i]!++
          if (m.coalesced) coalesced++
          for (const e of m.events) ids.push(e.id)
        },
      }),
    )
    await until(() => {
      void streamStats(env.t.db, runId).then((st) => (joined = st?.subscribers === 20))
      return joined
    }, 'the 20 subscribers to join')
    const from = 1 + (await env.t.db.event.count()) + 1_000_000
    const burst: RunEvent[] = Array.from({ length: 6000 }, (_, i) => ({
      id: from + i,
      runId,
      at: new Date().toISOString(),
      type: 'task.state',
      taskId: `t${Math.floor(i / 3)}`,
      workerId: null,
      payload: { from: 'queued', to: 'running', attempt: 0, stage: 'A', pool: 'default' },
    }))
    const encodedBefore = streamEncodings()
    emit(burst)
    const ids = burst.map((e) => e.id)
    await until(() => received.every((r) => r.length === ids.length), 'every subscriber to get the burst', 15_000)
    const encoded = streamEncodings() - encodedBefore
    for (const s of subs) s.close()
    await Promise.all(subs.map((s) => s.done))
    expect(coalesced, 'messages coalesced').toBe(0)
    for (const [i, got] of received.entries()) expect(got, `subscriber ${i}`).toEqual(ids)
    expect(messages.every((n) => n === messages[0])).toBe(true)
    // one encoding per message, shared by the 20 (it used to be folded and encoded for each of them)
    expect(encoded).toBe(messages[0])
  }, 60_000)

  it('a burst of more than 4,000 events reaches 20 reading subscribers uncoalesced, encoded once for all', async () => {
    // one stage partitioned over 2,000 files after a short warm-up: the 2,000 tasks run in one burst
    // of 6,000 events (over a viewer's backlog limit), which used to fold every viewer's backlog
    const files = Array.from({ length: 2000 }, (_, i) => `f${i}.root`).join(', ')
    const versionId = await env.save(
      `version: 1\nname: burst-20\ndata:\n  datasets:\n    - name: files\n      files: [${files}]\n` +
        'analysis:\n  stages:\n    - id: Warmup\n      op: shell\n      params: { command: "sleep 1" }\n' +
        '    - id: Parts\n      op: noop\n      needs: [Warmup]\n      params: { partition: file, dataset: files }\n',
    )
    const { runId } = await startRun({ versionId }, env.engine)
    const received: number[][] = Array.from({ length: 20 }, () => [])
    const messages: number[] = Array.from({ length: 20 }, () => 0)
    let coalesced = 0
    const subs = received.map((ids, i) =>
      subscribeOverHttp({
        baseUrl: harness.url,
        headers: auth,
        runId,
        lastEventId: 0,
        onMessage: (m) => {
          messages[i]!++
          if (m.coalesced) coalesced++
          for (const e of m.events) ids.push(e.id)
        },
      }),
    )
    await until(() => received.every((r) => r.length > 0), 'every subscriber to join')
    const encodedBefore = streamEncodings()
    const messagesBefore = messages[0]!
    await env.waitFor(runId)
    const stored = (
      await env.t.db.event.findMany({
        where: { runId, type: { not: 'control' } },
        orderBy: { id: 'asc' },
        select: { id: true },
      })
    ).map((e) => e.id)
    expect(stored.length).toBeGreaterThan(3 * 2000)
    await until(
      () => received.every((r) => r[r.length - 1] === stored[stored.length - 1]),
      'every subscriber to reach the last event',
    )
    const encoded = streamEncodings() - encodedBefore
    for (const s of subs) s.close()
    await Promise.all(subs.map((s) => s.done))
    expect(coalesced, 'messages coalesced').toBe(0)
    for (const [i, ids] of received.entries()) expect(ids, `subscriber ${i}`).toEqual(stored)
    // the live messages were encoded once each, not once per subscriber
    expect(encoded).toBeLessThanOrEqual(messages[0]! - messagesBefore)
  }, 120_000)

  it('a subscriber that does not read gets its backlog coalesced; it folds to the stored counts', async () => {
    let joined = false
    const versionId = await env.save(wideWorkflow('slow', 2000))
    // the slow viewer watches every run (it has joined the feed before the runs start): it reads the
    // first message, of a small run, then stops reading while a big one runs
    const ctrl = new AbortController()
    const slow = streamRunEvents(env.t.db, { runId: null, signal: ctrl.signal })
    const firstMessage = slow.next()
    await until(() => {
      void streamStats(env.t.db, null).then((s) => (joined = (s?.subscribers ?? 0) > 0))
      return joined
    }, 'the slow viewer to join')
    const small = await startRun({ versionId: await env.save(wideWorkflow('slow-first', 1)) }, env.engine)
    await env.waitFor(small.runId)
    const first = await firstMessage // then it stops reading
    expect(first.done).toBe(false)
    const { runId } = await startRun({ versionId }, env.engine)
    const fastIds: number[] = []
    const fast = subscribeOverHttp({
      baseUrl: harness.url,
      headers: auth,
      runId,
      lastEventId: 0,
      onMessage: (m) => fastIds.push(...m.events.map((e) => e.id)),
    })
    await env.waitFor(runId)
    const lastId = (await getRun(env.t.db, runId)).lastEventId
    // the reading subscriber is not held back by the one that stopped
    await until(() => fastIds[fastIds.length - 1] === lastId, 'the reading subscriber to get everything')
    // the one that stopped has now left its backlog waiting long enough to count as slow
    await new Promise((r) => setTimeout(r, (SLOW_TURNS + 2) * TURN_MS))
    const messages = [first.value]
    for (;;) {
      const next = await slow.next()
      if (next.done) break
      messages.push(next.value)
      if (Number(next.value[0]) === lastId) break
    }
    ctrl.abort()
    await slow.return(undefined)
    fast.close()
    await fast.done
    const decoded = messages.map((m) => decodeStreamMessage<LiveEvent>(m![1]))
    expect(decoded.some((m) => m.coalesced)).toBe(true)
    const delivered = decoded.reduce((n, m) => n + m.events.length, 0)
    expect(delivered).toBeLessThan(3 * 2000)
    const snap = {
      runState: 'pending',
      startedAt: null,
      finishedAt: null,
      error: null,
      workers: [],
    }
    let live = initLive({ ...snap, lastEventId: 0, stageCounts: {} })
    for (const m of decoded)
      live = applyEvents(
        live,
        m.events.filter((e) => e.runId === runId),
      )
    const final = await getRun(env.t.db, runId)
    expect(live.runState).toBe('succeeded')
    expect(live.stageCounts).toEqual(Object.fromEntries(final.stages.map((s) => [s.id, s.counts])))
  }, 120_000)
})

describe('/api/events: access', () => {
  async function get(path: string, headers: Record<string, string>) {
    const res = await fetch(`${harness.url}${path}`, { headers })
    const body = await res.text()
    return { status: res.status, body }
  }
  it('refuses a caller without the token, a bad event id, and a foreign Host name', async () => {
    expect((await get('/api/events', {})).status).toBe(401)
    const bad = await get('/api/events?after=abc', auth)
    expect(bad.status).toBe(400)
    expect(bad.body).toContain('after / Last-Event-ID must be an event id')
    const port = new URL(harness.url).port
    const foreign = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/api/events', headers: { host: `rebind.evil.example:${port}`, ...auth } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      req.end()
    })
    expect(foreign).toBe(421)
  })

  it("resumes after the Last-Event-ID an EventSource sends on reconnect (over the page's `after`)", async () => {
    const versionId = await env.save(wideWorkflow('resume', 20))
    const { runId } = await startRun({ versionId }, env.engine)
    await env.waitFor(runId)
    const stored = (
      await env.t.db.event.findMany({
        where: { runId, type: { not: 'control' } },
        orderBy: { id: 'asc' },
        select: { id: true },
      })
    ).map((e) => e.id)
    const mid = stored[Math.floor(stored.length / 2)]!
    const got: number[] = []
    const sub = subscribeOverHttp({
      baseUrl: harness.url,
      runId,
      lastEventId: 0,
      headers: { ...auth, 'last-event-id': String(mid) },
      onMessage: (m) => got.push(...m.events.map((e) => e.id)),
    })
    await until(() => got[got.length - 1] === stored[stored.length - 1], 'the rest of the run')
    sub.close()
    await sub.done
    expect(got).toEqual(stored.filter((id) => id > mid))
  }, 60_000)

  it('summary=1: per batch the runs it touched and their run-state changes, not every task event', async () => {
    const versionId = await env.save(wideWorkflow('summary', 50))
    const messages: { runs: string[]; types: string[] }[] = []
    const sub = subscribeOverHttp({
      baseUrl: harness.url,
      runId: null,
      summary: true,
      headers: auth,
      onMessage: (m) => messages.push({ runs: m.runs ?? [], types: m.events.map((e) => e.type) }),
    })
    await until(() => {
      void streamStats(env.t.db, null).then((st) => (joined = (st?.subscribers ?? 0) > 0))
      return joined
    }, 'the summary viewer to join')
    const { runId } = await startRun({ versionId }, env.engine)
    await env.waitFor(runId)
    await until(() => messages.some((m) => m.types.length && m.runs.includes(runId) && m.types.length), 'a run state')
    await until(
      () => messages.flatMap((m) => m.types).filter((t) => t === 'run.state').length >= 2,
      'the run to start and end',
    )
    sub.close()
    await sub.done
    expect(sub.error).toBeNull()
    expect(messages.every((m) => m.runs.includes(runId))).toBe(true)
    expect(new Set(messages.flatMap((m) => m.types))).toEqual(new Set(['run.state']))
  }, 60_000)
  let joined = false

  it("the all-runs feed takes this process's events from the bus: every event of a burst, no store read per batch", async () => {
    const versionId = await env.save(wideWorkflow('all-runs-bus', 2000))
    const runs: string[] = []
    const ids: number[] = []
    let coalesced = 0
    const sub = subscribeOverHttp({
      baseUrl: harness.url,
      runId: null,
      headers: auth,
      onMessage: (m) => {
        if (m.coalesced) coalesced++
        runs.push(...m.events.map((e) => e.runId))
        ids.push(...m.events.map((e) => e.id))
      },
    })
    let before: { reads: number } | null = null
    await until(() => {
      void streamStats(env.t.db, null).then((st) => (before = (st?.subscribers ?? 0) > 0 ? st : null))
      return before !== null
    }, 'the viewer to join')
    const t0 = Date.now()
    const { runId } = await startRun({ versionId }, env.engine)
    await env.waitFor(runId)
    const lastId = (await getRun(env.t.db, runId)).lastEventId
    await until(() => ids[ids.length - 1] === lastId, 'every event of the run')
    const after = await streamStats(env.t.db, null)
    const seconds = (Date.now() - t0) / 1000
    sub.close()
    await sub.done
    const stored = await env.t.db.event.count({ where: { runId, type: { not: 'control' } } })
    expect(stored).toBe(3 * 2000 + 3)
    expect(coalesced).toBe(0)
    expect(runs.filter((r) => r === runId)).toHaveLength(stored)
    for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!)
    // the feed's reads: its once-a-second poll (for other processes' events) and at most a couple
    // for gaps, not one per batch
    expect(after!.reads - before!.reads).toBeLessThanOrEqual(Math.ceil(seconds) + 3)
  }, 60_000)
})

describe('coalesceEvents', () => {
  const ev = (id: number, type: string, payload: Record<string, unknown>, taskId: string | null = null) =>
    ({
      id,
      runId: 'r',
      at: new Date(1e12 + id).toISOString(),
      type,
      taskId,
      workerId: type === 'worker.state' ? String(payload.w) : null,
      payload,
    }) as RunEvent
  it('keeps one task.state per task (from of the first, to of the last) and the last id', () => {
    const out = coalesceEvents([
      ev(1, 'task.state', { from: 'pending', to: 'queued', stage: 'A' }, 't1'),
      ev(2, 'worker.state', { w: 'w1', to: 'running', host: 'h' }),
      ev(3, 'task.state', { from: 'queued', to: 'running', stage: 'A' }, 't1'),
      ev(4, 'run.state', { from: 'pending', to: 'running' }),
      ev(5, 'worker.state', { w: 'w1', to: 'gone' }),
      ev(6, 'task.state', { from: 'running', to: 'failed', stage: 'A', exitCode: 3 }, 't1'),
    ])
    expect(out.map((e) => e.id)).toEqual([4, 5, 6])
    expect(out[2]!.payload).toMatchObject({ from: 'pending', to: 'failed', exitCode: 3 })
    expect(out[1]!.payload).toMatchObject({ to: 'gone', host: 'h' })
  })
})
