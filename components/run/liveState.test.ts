import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { applyEvents, initLive, rebase, runCounts, type LiveEvent, type RunSnapshotInput } from './liveState'
import { aggregateState } from './aggregate'

const T0 = Date.parse('2026-01-01T10:00:00Z')
function ev(id: number, type: string, payload: Record<string, unknown>, extra: Partial<LiveEvent> = {}): LiveEvent {
  return {
    id,
    runId: 'r1',
    at: new Date(T0 + id * 100).toISOString(),
    type,
    taskId: null,
    workerId: null,
    payload,
    ...extra,
  } as LiveEvent
}
function ts(
  id: number,
  taskId: string,
  stage: string,
  from: string,
  to: string,
  extra: Partial<LiveEvent> = {},
  payload: Record<string, unknown> = {},
) {
  return ev(id, 'task.state', { from, to, stage, pool: 'default', attempt: 0, ...payload }, { taskId, ...extra })
}
function snap(over: Partial<RunSnapshotInput> = {}): RunSnapshotInput {
  return {
    lastEventId: 0,
    runState: 'pending',
    startedAt: null,
    finishedAt: null,
    error: null,
    stageCounts: {},
    workers: [],
    ...over,
  }
}

describe('applyEvents', () => {
  it('moves task counts of a stage and the run state', () => {
    let s = initLive(snap({ lastEventId: 10, stageCounts: { A: { pending: 2 } } }))
    s = applyEvents(s, [
      ev(11, 'run.state', { from: 'pending', to: 'running' }),
      ts(12, 't1', 'A', 'pending', 'queued'),
      ts(13, 't1', 'A', 'queued', 'running'),
    ])
    expect(s.runState).toBe('running')
    expect(s.startedAt).toBe(T0 + 1100)
    expect(s.stageCounts.A).toEqual({ pending: 1, running: 1 })
    expect(aggregateState(s.stageCounts.A ?? {})).toBe('running')
    s = applyEvents(s, [ts(14, 't1', 'A', 'running', 'succeeded', {}, { durationMs: 100, exitCode: 0 })])
    expect(s.stageCounts.A).toEqual({ pending: 1, succeeded: 1 })
    expect(s.tasks.get('t1')).toMatchObject({
      state: 'succeeded',
      exitCode: 0,
      durationMs: 100,
      startedAt: T0 + 1300,
      finishedAt: T0 + 1400,
    })
  })

  it('ignores duplicates, replays and events the snapshot already counts; sorts out-of-order input', () => {
    let s = initLive(snap({ lastEventId: 10, stageCounts: { A: { pending: 1 } } }))
    const batch = [
      ts(12, 't1', 'A', 'queued', 'running'),
      ts(11, 't1', 'A', 'pending', 'queued'),
      ts(11, 't1', 'A', 'pending', 'queued'),
    ]
    s = applyEvents(s, batch)
    const after = s
    s = applyEvents(s, batch) // a reconnect re-sends the same events
    expect(s).toBe(after)
    expect(s.stageCounts.A).toEqual({ running: 1 })
    expect(s.seenId).toBe(12)
    // events up to the snapshot (id ≤ 10) are not counted again
    const old = initLive(snap({ lastEventId: 10, stageCounts: { A: { running: 1 } } }))
    const o2 = applyEvents({ ...old, seenId: 5 }, [ts(9, 't1', 'A', 'queued', 'running')])
    expect(o2.stageCounts.A).toEqual({ running: 1 })
    expect(o2.tasks.get('t1')?.state).toBe('running') // but the task patch is taken
  })

  it('tracks workers and their current task', () => {
    let s = initLive(snap({ lastEventId: 0, stageCounts: { A: { queued: 1 } } }))
    s = applyEvents(s, [
      ev(
        1,
        'worker.state',
        { from: null, to: 'running', pool: 'default', kind: 'process', batchJobId: null },
        { workerId: 'w1' },
      ),
      ts(2, 't1', 'A', 'queued', 'running', { workerId: 'w1' }),
    ])
    expect(s.workers.get('w1')).toMatchObject({
      state: 'running',
      pool: 'default',
      currentTaskId: 't1',
      startedAt: T0 + 100,
    })
    s = applyEvents(s, [ts(3, 't1', 'A', 'running', 'succeeded', { workerId: 'w1' })])
    expect(s.workers.get('w1')?.currentTaskId).toBeNull()
    s = applyEvents(s, [
      ev(4, 'worker.state', { from: 'running', to: 'gone', pool: 'default', reason: 'run ended' }, { workerId: 'w1' }),
    ])
    expect(s.workers.get('w1')).toMatchObject({ state: 'gone', endedAt: T0 + 400, reason: 'run ended' })
  })

  it('keeps a Slurm pending reason on the worker and the task', () => {
    let s = initLive(snap({ lastEventId: 0 }))
    s = applyEvents(s, [
      ev(
        1,
        'worker.state',
        { from: null, to: 'pending-in-queue', pool: 'gpu', batchJobId: '4242', reason: 'Resources' },
        { workerId: 'w9' },
      ),
      ev(2, 'task.info', { attempt: 0, reason: 'Resources' }, { taskId: 't9', workerId: 'w9' }),
    ])
    expect(s.workers.get('w9')).toMatchObject({ batchJobId: '4242', reason: 'Resources', state: 'pending-in-queue' })
    expect(s.tasks.get('t9')?.reason).toBe('Resources')
  })

  it('collects engine messages and the failure reason', () => {
    let s = initLive(snap({ lastEventId: 0, runState: 'running' }))
    s = applyEvents(s, [
      ev(1, 'run.log', { level: 'warn', message: 'pool gpu: no GPU' }),
      ev(2, 'run.state', { from: 'running', to: 'failed', reason: '1 task failed' }),
    ])
    expect(s.runState).toBe('failed')
    expect(s.error).toBe('1 task failed')
    expect(s.finishedAt).toBe(T0 + 200)
    expect(s.messages.map((m) => m.message)).toEqual(['pool gpu: no GPU', 'run failed: 1 task failed'])
  })
})

describe('rebase', () => {
  it('replaces the aggregates with a newer snapshot and re-applies only the newer events', () => {
    let s = initLive(snap({ lastEventId: 10, stageCounts: { A: { pending: 3 } } }))
    s = applyEvents(s, [
      ts(11, 't1', 'A', 'pending', 'queued'),
      ts(12, 't2', 'A', 'pending', 'queued'),
      ts(13, 't1', 'A', 'queued', 'running'),
    ])
    // the server's snapshot at 12 (t1, t2 queued) arrives after event 13
    s = rebase(s, snap({ lastEventId: 12, runState: 'running', stageCounts: { A: { pending: 1, queued: 2 } } }))
    expect(s.stageCounts.A).toEqual({ pending: 1, queued: 1, running: 1 })
    expect(s.tail.map((e) => e.id)).toEqual([13])
    // a stale snapshot is ignored
    const same = rebase(s, snap({ lastEventId: 11, stageCounts: { A: { pending: 3 } } }))
    expect(same).toBe(s)
  })

  it('a snapshot ahead of the stream: late events update tasks but are not counted twice', () => {
    let s = initLive(snap({ lastEventId: 10, stageCounts: { A: { pending: 1 } } }))
    s = rebase(s, snap({ lastEventId: 20, runState: 'running', stageCounts: { A: { running: 1 } } }))
    s = applyEvents(s, [ts(15, 't1', 'A', 'pending', 'queued'), ts(16, 't1', 'A', 'queued', 'running')])
    expect(s.stageCounts.A).toEqual({ running: 1 })
    expect(s.tasks.get('t1')?.state).toBe('running')
    s = applyEvents(s, [ts(21, 't1', 'A', 'running', 'succeeded')])
    expect(s.stageCounts.A).toEqual({ succeeded: 1 })
  })

  it('property: any split into batches, with duplicates and snapshots in between, gives the same counts', () => {
    // a random valid history: N tasks of 3 stages each walk pending → queued → running → terminal
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('succeeded', 'failed', 'cancelled'), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 1000 }),
        (ends, cuts, seed) => {
          const stages = ['A', 'B', 'C']
          const tasks = ends.map((end, i) => ({ id: `t${i}`, stage: stages[i % 3] ?? 'A', end }))
          const steps: [string, string][] = []
          const hist: LiveEvent[] = []
          let id = 0
          for (const t of tasks)
            for (const [f, to] of [
              ['pending', 'queued'],
              ['queued', 'running'],
              ['running', t.end],
            ] as const)
              steps.push([t.id, `${f}>${to}`])
          // interleave deterministically by seed
          const order = steps.map((s, i) => ({ s, k: (i * 7919 + seed) % 1009 }))
          const perTask = new Map<string, number>()
          order.sort((a, b) => a.k - b.k)
          // keep each task's own steps in order
          const queue = [...order]
          while (queue.length) {
            const i = queue.findIndex((o) => {
              const t = tasks.find((x) => x.id === o.s[0])!
              const n = perTask.get(t.id) ?? 0
              const [f, to] = o.s[1].split('>')
              const want = n === 0 ? 'pending>queued' : n === 1 ? 'queued>running' : `running>${t.end}`
              return `${f}>${to}` === want
            })
            const [o] = queue.splice(i, 1)
            const t = tasks.find((x) => x.id === o?.s[0])
            const [f, to] = o?.s[1].split('>') ?? []
            if (!t || !f || !to) throw new Error(`no next step in ${JSON.stringify(queue)}`)
            perTask.set(t.id, (perTask.get(t.id) ?? 0) + 1)
            hist.push(ts(++id, t.id, t.stage, f, to))
          }
          const initial: Record<string, Record<string, number>> = {}
          for (const t of tasks) {
            const stage = (initial[t.stage] ??= {})
            stage.pending = (stage.pending ?? 0) + 1
          }
          const expected: Record<string, number> = {}
          for (const t of tasks) expected[t.end] = (expected[t.end] ?? 0) + 1

          let s = initLive(snap({ lastEventId: 0, stageCounts: initial }))
          let pos = 0
          let c = 0
          while (pos < hist.length) {
            const n = cuts[c++ % cuts.length] ?? 1
            const from = Math.max(0, pos - (c % 3)) // overlap: re-send a few already-seen events
            s = applyEvents(s, hist.slice(from, pos + n).reverse())
            pos += n
            if (c % 2 === 0 && pos < hist.length) {
              // a server snapshot taken at some id ≤ the latest
              const at = Math.min(hist.length, Math.max(0, pos - 2))
              const counts: Record<string, Record<string, number>> = JSON.parse(JSON.stringify(initial))
              for (const e of hist.slice(0, at)) {
                const p = e.payload as { stage: string; from: string; to: string }
                const stage = (counts[p.stage] ??= {})
                stage[p.from] = (stage[p.from] ?? 0) - 1
                if (!stage[p.from]) delete stage[p.from]
                stage[p.to] = (stage[p.to] ?? 0) + 1
              }
              s = rebase(s, snap({ lastEventId: at, stageCounts: counts }))
            }
          }
          expect(runCounts(s)).toEqual(expected)
          for (const t of tasks) expect(s.tasks.get(t.id)?.state).toBe(t.end)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('applies a 10,000-task burst in one batch quickly', () => {
    const N = 10_000
    let s = initLive(snap({ lastEventId: 0, stageCounts: { big: { pending: N } } }))
    const events: LiveEvent[] = []
    let id = 0
    for (let i = 0; i < N; i++) events.push(ts(++id, `t${i}`, 'big', 'pending', 'queued'))
    for (let i = 0; i < N; i++) events.push(ts(++id, `t${i}`, 'big', 'queued', 'running'))
    for (let i = 0; i < N; i++) events.push(ts(++id, `t${i}`, 'big', 'running', 'succeeded'))
    const t = performance.now()
    // as the batcher would deliver them: a few large batches
    for (let i = 0; i < events.length; i += 2000) s = applyEvents(s, events.slice(i, i + 2000))
    const ms = performance.now() - t
    expect(s.stageCounts.big).toEqual({ succeeded: N })
    expect(s.tasks.size).toBe(N)
    expect(ms).toBeLessThan(2000)
  })
})
