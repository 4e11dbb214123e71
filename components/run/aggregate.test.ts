import { describe, expect, it } from 'vitest'
import { aggregateState, countTotal, formatDuration, formatTime, progressOf, sumCounts } from './aggregate'

describe('aggregateState', () => {
  it('is pending for a stage without tasks or with only pending tasks', () => {
    expect(aggregateState({})).toBe('pending')
    expect(aggregateState({ pending: 10 })).toBe('pending')
  })
  it('follows a stage through pending → running → succeeded', () => {
    expect(aggregateState({ pending: 9, queued: 1 })).toBe('queued')
    expect(aggregateState({ pending: 8, queued: 1, running: 1 })).toBe('running')
    expect(aggregateState({ succeeded: 5, pending: 5 })).toBe('running') // part-way, waiting for slots
    expect(aggregateState({ succeeded: 10 })).toBe('succeeded')
  })
  it('shows activity before failures, failures before completion', () => {
    expect(aggregateState({ failed: 1, running: 2 })).toBe('running')
    expect(aggregateState({ failed: 1, succeeded: 9 })).toBe('failed')
    expect(aggregateState({ failed: 1, pending: 3 })).toBe('failed')
    expect(aggregateState({ lost: 1, succeeded: 2 })).toBe('lost')
    expect(aggregateState({ retrying: 1, failed: 1 })).toBe('retrying')
  })
  it('is cancelled when the run was cancelled under it', () => {
    expect(aggregateState({ cancelled: 3, succeeded: 2 })).toBe('cancelled')
    expect(aggregateState({ cancelled: 3 })).toBe('cancelled')
  })
  it('ignores zero and negative counts', () => {
    expect(aggregateState({ running: 0, succeeded: 2 })).toBe('succeeded')
    expect(countTotal({ running: 0, succeeded: 2, failed: -1 })).toBe(2)
  })
})

describe('progressOf / sumCounts', () => {
  it('counts done, failed and active tasks', () => {
    expect(progressOf({ succeeded: 3, failed: 1, lost: 1, running: 2, queued: 1, pending: 2 })).toEqual({
      done: 3,
      total: 10,
      failed: 2,
      running: 3,
    })
  })
  it('sums per-state maps', () => {
    expect(sumCounts([{ a: 1 }, { a: 2, b: 1 }])).toEqual({ a: 3, b: 1 })
  })
})

describe('formatDuration', () => {
  it('formats ms, seconds, minutes and hours', () => {
    expect(formatDuration(null)).toBe('–')
    expect(formatDuration(450)).toBe('450 ms')
    expect(formatDuration(1234)).toBe('1.2 s')
    expect(formatDuration(42_000)).toBe('42 s')
    expect(formatDuration(184_000)).toBe('3 min 04 s')
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2 h 05 min')
  })
})

describe('formatTime', () => {
  it('shows the time of day for today, the date too for another day, a dash for nothing', () => {
    const now = new Date()
    now.setHours(9, 5, 7, 0)
    expect(formatTime(now)).toMatch(/^09:05:07$/)
    const earlier = new Date(2020, 0, 2, 13, 4, 5)
    expect(formatTime(earlier.getTime())).toMatch(/^2020-01-0[12] 13:04:05$/)
    expect(formatTime(null)).toBe('–')
    expect(formatTime('not a date')).toBe('–')
  })
})
