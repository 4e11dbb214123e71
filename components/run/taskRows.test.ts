import { describe, expect, it } from 'vitest'
import { createTaskMerger, EMPTY_FILTERS, filterAndSort, mergeTask, profileSummary, type TaskView } from './taskRows'
import type { RunTaskRow } from './types'

function row(id: string, patch: Partial<RunTaskRow> = {}): RunTaskRow {
  return {
    id,
    runId: 'r',
    stageId: 'S',
    partitionKey: null,
    partitionIndex: null,
    state: 'pending',
    attempt: 0,
    maxRetries: 0,
    pool: 'default',
    workerId: null,
    batchJobId: null,
    host: null,
    exitCode: null,
    signal: null,
    reason: null,
    message: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    modifiers: [],
    metrics: null,
    outputs: null,
    createdAt: new Date(0),
    queuedAt: null,
    ...patch,
  } as RunTaskRow
}

const views = (rows: RunTaskRow[]): TaskView[] => rows.map((r, i) => mergeTask(r, undefined, 10_000, i))

describe('task rows', () => {
  const rows = views([
    row('a', { state: 'succeeded', pool: 'gpu', workerId: 'w2', durationMs: 30, startedAt: new Date(3000) }),
    row('b', { state: 'failed', pool: 'default', workerId: 'w1', durationMs: 10, startedAt: new Date(1000) }),
    row('c', { state: 'running', pool: 'default', workerId: 'w1', durationMs: null, startedAt: new Date(2000) }),
    row('d', { state: 'pending', pool: 'gpu' }),
  ])

  it('filters by state, pool, worker and stage', () => {
    const ids = (f: Partial<typeof EMPTY_FILTERS>) => filterAndSort(rows, { ...EMPTY_FILTERS, ...f }).map((t) => t.id)
    expect(ids({})).toEqual(['a', 'b', 'c', 'd'])
    expect(ids({ state: 'failed' })).toEqual(['b'])
    expect(ids({ pool: 'gpu' })).toEqual(['a', 'd'])
    expect(ids({ worker: 'w1' })).toEqual(['b', 'c'])
    expect(ids({ worker: 'w1', state: 'running' })).toEqual(['c'])
    expect(ids({ stage: 'Other' })).toEqual([])
  })

  it('sorts by duration and start (no value last), state, pool and worker, ties in plan order', () => {
    const ids = (sort: typeof EMPTY_FILTERS.sort) => filterAndSort(rows, { ...EMPTY_FILTERS, sort }).map((t) => t.id)
    // c is running: its duration is the time since it started (8 s at now = 10 s)
    expect(ids('-duration')).toEqual(['c', 'a', 'b', 'd'])
    expect(ids('duration')).toEqual(['b', 'a', 'c', 'd'])
    expect(ids('started')).toEqual(['b', 'c', 'a', 'd'])
    expect(ids('-started')).toEqual(['a', 'c', 'b', 'd'])
    expect(ids('pool')).toEqual(['b', 'c', 'a', 'd'])
    expect(ids('worker')).toEqual(['b', 'c', 'a', 'd'])
    expect(ids('state').indexOf('d')).toBeLessThan(ids('state').indexOf('a'))
    // the input is not reordered
    expect(rows.map((t) => t.id)).toEqual(['a', 'b', 'c', 'd'])
  })

  it('lays the streamed state over a fetched row; a running task counts its time', () => {
    const t = mergeTask(
      row('x', { state: 'queued' }),
      {
        id: 'x',
        eventId: 5,
        stage: 'S',
        pool: 'default',
        state: 'running',
        attempt: 1,
        workerId: 'w9',
        reason: null,
        exitCode: null,
        durationMs: null,
        startedAt: 1000,
        finishedAt: null,
      },
      4000,
    )
    expect(t).toMatchObject({ state: 'running', attempt: 1, workerId: 'w9', durationMs: 3000 })
  })

  it('prints the profile with the one byte formatter', () => {
    expect(profileSummary({ peakRssBytes: 1536 * 1024, wallMs: 1200 }).text).toBe('wall 1.2 s · peak 1.5 MiB')
  })
})

describe('createTaskMerger', () => {
  const patch = (id: string, state: string, eventId: number, startedAt: number | null = null) => ({
    id,
    eventId,
    stage: 'S',
    pool: 'default',
    state,
    attempt: 0,
    workerId: null,
    reason: null,
    exitCode: null,
    durationMs: null,
    startedAt,
    finishedAt: null,
  })

  it('keeps the view of a task whose row and patch did not change; merges changed and running ones again', () => {
    const merge = createTaskMerger()
    const rows = [row('a'), row('b'), row('c')]
    const first = merge(rows, new Map(), 1000)
    expect(first.map((t) => t.state)).toEqual(['pending', 'pending', 'pending'])
    const patches = new Map([
      ['b', patch('b', 'running', 5, 500)],
      ['c', patch('c', 'queued', 6)],
    ])
    const second = merge(rows, patches, 2000)
    expect(second[0]).toBe(first[0])
    expect(second[1]).not.toBe(first[1])
    expect(second[1]).toMatchObject({ state: 'running', durationMs: 1500 })
    expect(second[2]).toMatchObject({ state: 'queued' })
    // the clock moves: only the running task is merged again (its duration grows)
    const third = merge(rows, patches, 3000)
    expect(third[0]).toBe(first[0])
    expect(third[2]).toBe(second[2])
    expect(third[1]).toMatchObject({ durationMs: 2500 })
    // a re-read of the rows (new objects) merges them again, with the patches laid over
    const reread = merge([row('a'), row('b'), row('c')], patches, 3000)
    expect(reread[0]).not.toBe(first[0])
    expect(reread.map((t) => t.state)).toEqual(['pending', 'running', 'queued'])
  })
})
