/**
 * One viewer's place in a feed (stream.ts `Subscriber`), without HTTP: a viewer that keeps pulling
 * gets every batch itself (the bytes shared with every other viewer), however big; one that does not
 * pull for a while gets its backlog folded, holds nobody back, and still ends on the run's last event.
 */
import { describe, expect, it } from 'vitest'
import { advanceStreamClock, BACKLOG_MAX, Batch, SLOW_TURNS, Subscriber, streamEncodings } from './stream.ts'
import { decodeStreamMessage } from './stream-message.ts'
import type { RunEvent } from './types.ts'

const at = new Date(1e12).toISOString()

/** `n` task events from id `from`: each task moves queued -> running -> succeeded over 3 ids */
function taskEvents(from: number, n: number): RunEvent[] {
  const steps = [
    ['pending', 'queued'],
    ['queued', 'running'],
    ['running', 'succeeded'],
  ] as const
  return Array.from({ length: n }, (_, i) => {
    const id = from + i
    const [fromState, to] = steps[id % 3]!
    return {
      id,
      runId: 'r',
      at,
      type: 'task.state',
      taskId: `t${Math.floor(id / 3)}`,
      workerId: null,
      payload: { from: fromState, to, attempt: 0, stage: 'A', pool: 'default' },
    }
  })
}

function runEnd(id: number): RunEvent {
  return {
    id,
    runId: 'r',
    at,
    type: 'run.state',
    taskId: null,
    workerId: null,
    payload: { from: 'running', to: 'succeeded' },
  }
}

function joined(from = 0): Subscriber {
  const s = new Subscriber(from)
  s.joined = true
  return s
}

function drain(s: Subscriber): Batch[] {
  const out: Batch[] = []
  for (let b = s.take(); b; b = s.take()) out.push(b)
  return out
}

describe('a subscriber of a feed', () => {
  it('that keeps pulling gets a burst of more than BACKLOG_MAX events as the shared batch: one encoding for 20 viewers', () => {
    const viewers = Array.from({ length: 20 }, () => joined())
    const encodedBefore = streamEncodings()
    const burst = new Batch(taskEvents(1, 6003))
    expect(burst.events.length).toBeGreaterThan(BACKLOG_MAX)
    for (const v of viewers) v.deliver(burst)
    const next = new Batch([...taskEvents(6004, 2), runEnd(6006)])
    for (const v of viewers) v.deliver(next)
    for (const v of viewers) {
      const got = drain(v)
      // the very objects the feed made: the same bytes for everyone, nothing folded
      expect(got).toEqual([burst, next])
      expect(got[0]).toBe(burst)
      expect(got[1]).toBe(next)
      expect(got.some((b) => b.coalesced)).toBe(false)
      for (const b of got) b.frame() // what /api/events writes to this viewer
    }
    expect(streamEncodings() - encodedBefore).toBe(2)
  })

  it('a batch or two behind, for less than SLOW_TURNS: still the shared batches, in order', () => {
    const v = joined()
    const a = new Batch(taskEvents(1, BACKLOG_MAX))
    const b = new Batch(taskEvents(BACKLOG_MAX + 1, BACKLOG_MAX))
    v.deliver(a)
    advanceStreamClock(SLOW_TURNS - 1)
    v.deliver(b)
    expect(drain(v)).toEqual([a, b])
  })

  it('that does not pull for SLOW_TURNS past BACKLOG_MAX events gets one coalesced message ending on the last event', () => {
    const slow = joined()
    const fast = joined()
    const first = new Batch(taskEvents(1, 3000))
    slow.deliver(first)
    fast.deliver(first)
    expect(fast.take()).toBe(first)
    advanceStreamClock(SLOW_TURNS)
    // the rest of the run, up to its last event: the fast one takes each batch as it comes
    const rest = [new Batch(taskEvents(3001, 3000)), new Batch([...taskEvents(6001, 2), runEnd(6003)])]
    for (const b of rest) {
      slow.deliver(b)
      fast.deliver(b)
      expect(fast.take()).toBe(b)
    }
    const got = drain(slow)
    expect(got).toHaveLength(1)
    const m = got[0]!
    expect(m.coalesced).toBe(true)
    expect(decodeStreamMessage(m.encode()).coalesced).toBe(true)
    // one event per task (2,001 tasks) and the run's end, which is the last id
    expect(m.events.length).toBe(2001 + 1)
    expect(m.lastId).toBe(6003)
    expect(m.events[m.events.length - 1]).toMatchObject({ type: 'run.state', payload: { to: 'succeeded' } })
    // then it is a fast viewer again: the next batch is the shared one
    const after = new Batch(taskEvents(6004, 3))
    slow.deliver(after)
    expect(slow.take()).toBe(after)
  })

  it('a slow subscriber that pulls only at the end still gets the last event, folded once', () => {
    const v = joined()
    const batches = [new Batch(taskEvents(1, 3000)), new Batch(taskEvents(3001, 3000)), new Batch([runEnd(6001)])]
    v.deliver(batches[0]!)
    v.deliver(batches[1]!)
    advanceStreamClock(SLOW_TURNS)
    v.deliver(batches[2]!)
    const got = drain(v)
    expect(got).toHaveLength(1)
    expect(got[0]!.coalesced).toBe(true)
    expect(got[0]!.lastId).toBe(6001)
  })

  it('left waiting less than the limit, however long: the shared batches, never folded', () => {
    const v = joined()
    const a = new Batch(taskEvents(1, 100))
    v.deliver(a)
    advanceStreamClock(100 * SLOW_TURNS)
    const b = new Batch(taskEvents(101, 100))
    v.deliver(b)
    expect(drain(v)).toEqual([a, b])
  })
})
