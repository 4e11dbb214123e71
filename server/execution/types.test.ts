import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  canTransition,
  checkTransition,
  IllegalTransitionError,
  TASK_STATES,
  TASK_TRANSITIONS,
  WORKER_TRANSITIONS,
  TERMINAL_TASK_STATES,
} from './types.ts'

describe('task state machine', () => {
  it('allows the documented life cycle', () => {
    for (const [a, b] of [
      ['pending', 'queued'],
      ['queued', 'running'],
      ['running', 'succeeded'],
      ['running', 'failed'],
      ['running', 'cancelled'],
      ['running', 'lost'],
      ['failed', 'retrying'],
      ['lost', 'retrying'],
      ['retrying', 'queued'],
      ['pending', 'cancelled'],
    ] as const)
      expect(canTransition('task', a, b), `${a} -> ${b}`).toBe(true)
  })

  it('refuses skipping states and leaving succeeded', () => {
    expect(canTransition('task', 'pending', 'running')).toBe(false)
    expect(canTransition('task', 'pending', 'succeeded')).toBe(false)
    expect(canTransition('task', 'succeeded', 'retrying')).toBe(false)
    expect(canTransition('task', 'queued', 'succeeded')).toBe(false)
    for (const s of TASK_STATES) expect(canTransition('task', 'succeeded', s)).toBe(false)
  })

  it('every state of the table is a known state and terminal states only re-open through retrying/pending', () => {
    for (const [from, tos] of Object.entries(TASK_TRANSITIONS)) {
      expect(TASK_STATES).toContain(from)
      for (const to of tos) expect(TASK_STATES).toContain(to)
      if (TERMINAL_TASK_STATES.has(from as never)) for (const to of tos) expect(['retrying', 'pending']).toContain(to)
    }
  })

  it('workers go requested -> pending-in-queue -> running -> gone', () => {
    expect(canTransition('worker', 'requested', 'pending-in-queue')).toBe(true)
    expect(canTransition('worker', 'pending-in-queue', 'running')).toBe(true)
    expect(canTransition('worker', 'running', 'gone')).toBe(true)
    expect(WORKER_TRANSITIONS.gone).toEqual([])
  })
})

describe('checkTransition', () => {
  afterEach(() => {
    delete process.env.CONTROLROOM_STRICT_TRANSITIONS
  })
  it('throws in strict (dev/test) mode and logs', () => {
    const log = vi.fn()
    expect(() => checkTransition('task', 'succeeded', 'running', 't1', log)).toThrow(IllegalTransitionError)
    expect(log).toHaveBeenCalledWith('illegal task transition succeeded -> running (t1)')
  })
  it('logs and refuses without throwing in production mode', () => {
    process.env.CONTROLROOM_STRICT_TRANSITIONS = '0'
    const log = vi.fn()
    expect(checkTransition('task', 'pending', 'succeeded', 't2', log)).toBe(false)
    expect(log).toHaveBeenCalledTimes(1)
    expect(checkTransition('task', 'pending', 'queued', 't2', log)).toBe(true)
  })
})
