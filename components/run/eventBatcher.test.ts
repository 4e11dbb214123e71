import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { must } from '~/server/must'
import { createEventBatcher } from './eventBatcher'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

const ids = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => ({ id: a + i }))

describe('createEventBatcher', () => {
  it('flushes a burst as one batch, at most every 200 ms', () => {
    const flushes: { at: number; ids: number[] }[] = []
    const b = createEventBatcher<{ id: number }>((evs) => flushes.push({ at: Date.now(), ids: evs.map((e) => e.id) }))
    const start = Date.now()
    // 100 SSE messages of 100 events over 1 s
    for (let m = 0; m < 100; m++) {
      b.push(ids(m * 100 + 1, m * 100 + 100))
      vi.advanceTimersByTime(10)
    }
    vi.advanceTimersByTime(500)
    expect(flushes.flatMap((f) => f.ids)).toEqual(ids(1, 10_000).map((e) => e.id))
    expect(flushes.length).toBeLessThanOrEqual(7) // ~1000 ms / 200 ms (+ first and last)
    const first = must(flushes[0], 'a first flush')
    let previous = first
    for (const f of flushes.slice(1)) {
      expect(f.at - previous.at).toBeGreaterThanOrEqual(200)
      previous = f
    }
    expect(first.at - start).toBeLessThan(20) // an event after a quiet period is shown at once
  })

  it('de-duplicates inside the buffer and against what was flushed, and sorts by id', () => {
    const out: number[][] = []
    const b = createEventBatcher<{ id: number }>((evs) => out.push(evs.map((e) => e.id)))
    b.push([{ id: 3 }, { id: 1 }, { id: 2 }, { id: 3 }])
    vi.advanceTimersByTime(0)
    b.push([{ id: 2 }, { id: 3 }, { id: 4 }]) // a reconnect re-sends 2 and 3
    vi.advanceTimersByTime(300)
    expect(out).toEqual([[1, 2, 3], [4]])
    expect(b.lastFlushedId()).toBe(4)
    b.push([{ id: 4 }])
    vi.advanceTimersByTime(300)
    expect(out.length).toBe(2)
  })

  it('flush() hands over at once; dispose() drops the rest', () => {
    const out: number[][] = []
    const b = createEventBatcher<{ id: number }>((evs) => out.push(evs.map((e) => e.id)))
    b.push([{ id: 1 }])
    b.flush()
    b.push([{ id: 2 }])
    expect(b.pending()).toBe(1)
    b.dispose()
    vi.advanceTimersByTime(1000)
    expect(out).toEqual([[1]])
  })
})

describe('hold and release', () => {
  it('hands nothing over while held; then what waited goes as one batch after the interval', () => {
    const flushes: { at: number; ids: number[] }[] = []
    const b = createEventBatcher<{ id: number }>((evs) => flushes.push({ at: Date.now(), ids: evs.map((e) => e.id) }))
    const start = Date.now()
    b.push(ids(1, 10))
    vi.advanceTimersByTime(0)
    expect(flushes).toHaveLength(1)
    b.hold()
    for (let m = 0; m < 10; m++) {
      b.push(ids(11 + m * 10, 20 + m * 10))
      vi.advanceTimersByTime(100)
    }
    expect(flushes).toHaveLength(1)
    expect(b.pending()).toBe(100)
    b.release()
    vi.advanceTimersByTime(0)
    expect(flushes).toHaveLength(2)
    const second = must(flushes[1], 'the flush after release()')
    expect(second.ids).toEqual(ids(11, 110).map((e) => e.id))
    expect(second.at - start).toBeGreaterThanOrEqual(1000)
    // a flush asked for while held (e.g. on unmount) waits too
    b.hold()
    b.push(ids(111, 111))
    b.flush()
    expect(flushes).toHaveLength(2)
    b.release()
    vi.advanceTimersByTime(200)
    expect(must(flushes[2], 'the flush of what waited while held').ids).toEqual([111])
  })
})
