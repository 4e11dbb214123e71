import { describe, expect, it } from 'vitest'
import { isEvent, PoolProblemSchema, parseRunEvent, safeParseRunEvent } from './events.ts'
import { canTransition } from './types.ts'
import { EVENT_TYPES, TASK_STATES, TERMINAL_TASK_STATES } from './vocabulary.ts'

const base = { id: 7, runId: 'r1', at: '2026-12-07T00:00:00.000Z', taskId: 't1', workerId: null }

describe('typed run events', () => {
  it('accepts every event the engine writes and narrows its payload by type', () => {
    const e = parseRunEvent({
      ...base,
      type: 'task.state',
      payload: { from: 'pending', to: 'skipped', attempt: 0, stage: 'B', pool: 'default', reason: 'upstream A failed' },
    })
    expect(isEvent(e, 'task.state') && e.payload.to).toBe('skipped')
    expect(
      parseRunEvent({ ...base, type: 'control', payload: { action: 'cancelTask', taskId: 't1', from: 12 } }).type,
    ).toBe('control')
  })

  it('refuses an unknown type, an unknown state and a payload missing a field, naming it', () => {
    expect(safeParseRunEvent({ ...base, type: 'task.exploded', payload: {} })).toBeNull()
    expect(() =>
      parseRunEvent({
        ...base,
        type: 'task.state',
        payload: { from: 'pending', to: 'done', attempt: 0, stage: 'B', pool: 'p' },
      }),
    ).toThrow(/to/)
    expect(() => parseRunEvent({ ...base, type: 'control', payload: { taskId: null } })).toThrow(/action/)
  })

  it('declares skipped as a terminal task state that a retry of its upstream re-opens', () => {
    expect(TASK_STATES).toContain('skipped')
    expect(TERMINAL_TASK_STATES.has('skipped')).toBe(true)
    expect(canTransition('task', 'pending', 'skipped')).toBe(true)
    expect(canTransition('task', 'skipped', 'pending')).toBe(true)
    expect(canTransition('task', 'skipped', 'running')).toBe(false)
    expect(EVENT_TYPES).toContain('task.state')
  })
})

describe('pool problems in stored events', () => {
  it('read a code this version does not declare as unknown-problem, keeping the message', () => {
    const old = { code: 'retired-code', severity: 'warning', pool: 'default', message: 'said long ago' }
    expect(PoolProblemSchema.parse(old)).toEqual({ ...old, code: 'unknown-problem' })
    const known = { ...old, code: 'host-gpus-insufficient' }
    expect(PoolProblemSchema.parse(known)).toEqual(known)
  })
})
