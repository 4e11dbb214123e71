import { describe, expect, it } from 'vitest'
import { clampRetries, decideAfterFailure, MAX_RETRIES, RETRY_CAP_MS, retryDelayMs } from './policy.ts'

const base = { reason: 'exit code 1', stopRequested: false, retriesUsed: 0, maxRetries: 0, lostUsed: 0, lostBudget: 1 }

describe('failure policy', () => {
  it('fails a task without retries and retries one with retries left, saying which retry it is', () => {
    expect(decideAfterFailure({ ...base, kind: 'failed' })).toEqual({ action: 'fail', reason: 'exit code 1' })
    expect(decideAfterFailure({ ...base, kind: 'failed', maxRetries: 2, retriesUsed: 1 })).toMatchObject({
      action: 'retry',
      budget: 'stage',
      reason: 'retry 2 of 2 after: exit code 1',
    })
  })

  it('gives a lost task its own extra attempt first, then the stage retries, then fails it', () => {
    expect(decideAfterFailure({ ...base, kind: 'lost', reason: 'executor died' })).toMatchObject({
      action: 'retry',
      budget: 'lost',
      delayMs: 0,
    })
    expect(decideAfterFailure({ ...base, kind: 'lost', lostUsed: 1, maxRetries: 1 })).toMatchObject({
      action: 'retry',
      budget: 'stage',
    })
    expect(decideAfterFailure({ ...base, kind: 'lost', reason: 'gone', lostUsed: 1 })).toEqual({
      action: 'fail',
      reason: 'lost: gone',
    })
  })

  it('never retries what was asked to stop or cannot be prepared', () => {
    expect(decideAfterFailure({ ...base, kind: 'failed', maxRetries: 5, stopRequested: true }).action).toBe('fail')
    expect(decideAfterFailure({ ...base, kind: 'lost', stopRequested: true }).action).toBe('cancel')
    expect(decideAfterFailure({ ...base, kind: 'failed', maxRetries: 5, final: true }).action).toBe('fail')
  })

  it('bounds retries and backs off exponentially up to a cap', () => {
    expect(clampRetries(1_000_000_000)).toBe(MAX_RETRIES)
    expect(clampRetries(-3)).toBe(0)
    const d = decideAfterFailure({ ...base, kind: 'failed', maxRetries: 1_000_000_000, retriesUsed: MAX_RETRIES })
    expect(d.action).toBe('fail')
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 500))).toEqual([500, 1000, 2000, 4000])
    expect(retryDelayMs(60, 500)).toBe(RETRY_CAP_MS)
  })
})
