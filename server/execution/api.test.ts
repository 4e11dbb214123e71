/**
 * The tRPC router `run.*` over the real engine and SQLite (server-side caller): start, get, tasks,
 * log, list, the batched `run.events` subscription with resume from lastEventId (no gap, no duplicate).
 */
import { describe, expect, it } from 'vitest'
import { setupEngineApi } from '../api/test-helpers.ts'
import { must } from '../must.ts'
import { decodeStreamMessage, type EncodedStreamMessage } from './stream-message.ts'
import type { RunEvent } from './types.ts'

const api = setupEngineApi()

async function collect(iterable: AsyncIterable<unknown>, until: (evs: RunEvent[]) => boolean, timeoutMs = 60_000) {
  const messages: { id: string; events: RunEvent[] }[] = []
  const all: RunEvent[] = []
  const t0 = Date.now()
  for await (const m of iterable) {
    const [id, data] = m as [string, EncodedStreamMessage]
    const msg = { id, events: decodeStreamMessage<RunEvent>(data).events }
    messages.push(msg)
    all.push(...msg.events)
    if (until(all) || Date.now() - t0 > timeoutMs) break
  }
  return { messages, all }
}

const finished = (evs: RunEvent[]) =>
  evs.some(
    (e) => e.type === 'run.state' && ['succeeded', 'failed', 'cancelled'].includes((e.payload as { to: string }).to),
  )

describe('run router', () => {
  it('starts a run, streams its events in batches, resumes from lastEventId without gap or duplicate', async () => {
    const yaml = `version: 1\nname: api\nanalysis:\n  stages:\n    - id: A\n      op: shell\n      params: { command: "echo hello api; echo warn >&2" }\n    - id: B\n      op: noop\n`
    const saved = await api.caller.workflow.saveVersion({ yaml, name: 'api' })
    const { runId } = await api.caller.run.start({ versionId: saved.version.id })
    const sub = await api.caller.run.events({ runId, lastEventId: '0' })
    const { messages, all } = await collect(sub as AsyncIterable<unknown>, finished)
    const ids = all.map((e) => e.id)
    let previous = -Infinity
    for (const id of ids) {
      expect(id).toBeGreaterThan(previous)
      previous = id
    }
    const db = await api.env.t.db.event.findMany({ where: { runId, type: { not: 'control' } }, orderBy: { id: 'asc' } })
    expect(ids).toEqual(db.map((e) => e.id))
    expect(messages.every((m) => m.id === String(m.events.at(-1)?.id))).toBe(true)

    // resume in the middle: exactly the rest
    const mid = must(ids[Math.floor(ids.length / 2)], 'an event id in the middle of the run')
    const sub2 = await api.caller.run.events({ runId, lastEventId: String(mid) })
    const rest = await collect(sub2 as AsyncIterable<unknown>, finished)
    expect(rest.all.map((e) => e.id)).toEqual(ids.filter((i) => i > mid))

    const info = await api.caller.run.get({ runId })
    expect(info.run.state).toBe('succeeded')
    expect(info.counts).toEqual({ succeeded: 2 })
    expect(info.lastEventId).toBe(ids[ids.length - 1])
    const tasks = await api.caller.run.tasks({ runId, state: 'succeeded', sort: '-duration', limit: 10 })
    expect(tasks.total).toBe(2)
    const a = tasks.items.find((t) => t.stageId === 'A')!
    const log = await api.caller.run.log({ taskId: a.id, stream: 'stdout' })
    expect(log).toMatchObject({ text: 'hello api\n', eof: true, done: true })
    const part = await api.caller.run.log({ taskId: a.id, stream: 'stdout', offset: 6, limit: 2 })
    expect(part).toMatchObject({ text: 'ap', offset: 6, nextOffset: 8, eof: false })
    expect((await api.caller.run.log({ taskId: a.id, stream: 'stderr' })).text).toBe('warn\n')
    const list = await api.caller.run.list({ workflowId: saved.workflow.id })
    expect(list.items.map((r) => r.id)).toEqual([runId])
    expect(list.items[0]).toMatchObject({ state: 'succeeded', total: 2, counts: { succeeded: 2 }, source: 'ui' })
    await expect(api.caller.run.retryTask({ taskId: a.id })).rejects.toThrow(
      /only failed, cancelled or lost tasks can be retried/,
    )
    await expect(api.caller.run.rerunFrom({ runId, stageId: 'Nope' })).rejects.toThrow(/has no stage 'Nope'/)
  })

  it('batches a burst: 2,000 no-op tasks arrive in few messages, every event once', async () => {
    const stages = Array.from({ length: 2000 }, (_, i) => `    - id: n${i}\n      op: noop\n      needs: []\n`).join('')
    const saved = await api.caller.workflow.saveVersion({
      yaml: `version: 1\nname: burst\nanalysis:\n  stages:\n${stages}`,
      name: 'burst',
    })
    const before = (await api.env.t.db.event.findFirst({ orderBy: { id: 'desc' } }))?.id ?? 0
    const sub = await api.caller.run.events({ runId: null, lastEventId: String(before) })
    const { runId } = await api.caller.run.start({ versionId: saved.version.id })
    const { messages, all } = await collect(sub as AsyncIterable<unknown>, finished)
    const mine = all.filter((e) => e.runId === runId)
    expect(mine.length).toBe(3 * 2000 + 3)
    expect(new Set(mine.map((e) => e.id)).size).toBe(mine.length)
    expect(messages.length).toBeLessThan(100)
    // the timeline's page of 1,000 tasks with their queue times (more ids than SQLite's 999 parameters)
    const page = await api.caller.run.tasks({ runId, sort: 'started', withQueued: true, limit: 1000 })
    expect(page.items).toHaveLength(1000)
    expect(page.items.every((t) => t.queuedAt instanceof Date)).toBe(true)
  })

  it('refuses an invalid version with NOT_RUNNABLE / PRECONDITION_FAILED', async () => {
    const saved = await api.caller.workflow.saveVersion({
      yaml: `version: 1\nname: bad\nanalysis:\n  stages:\n    - id: A\n      op: noop\n      needs: [Missing]\n`,
      name: 'bad',
    })
    await expect(api.caller.run.start({ versionId: saved.version.id })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    })
  })
})
