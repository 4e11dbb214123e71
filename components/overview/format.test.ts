import { describe, expect, it } from 'vitest'
import { describeExit, formatTimeLeft } from './format'

describe('overview formatting', () => {
  it('says how long a credential has left', () => {
    expect(formatTimeLeft(3 * 3600 + 12 * 60, false)).toBe('3 h 12 min left')
    expect(formatTimeLeft(2 * 86400 + 3600, false)).toBe('2 d 1 h left')
    expect(formatTimeLeft(45 * 60, false)).toBe('45 min left')
    expect(formatTimeLeft(10, true)).toBe('expired')
    expect(formatTimeLeft(null, false)).toBe('does not expire')
  })
  it('says how a failed task ended', () => {
    expect(describeExit({ exitCode: 3, signal: null, reason: null })).toBe('exit code 3')
    expect(describeExit({ exitCode: 3, signal: null, reason: 'exit code 3' })).toBe('exit code 3')
    expect(describeExit({ exitCode: null, signal: null, reason: 'lost: node failed' })).toBe('lost: node failed')
    expect(describeExit({ exitCode: null, signal: 'SIGKILL', reason: 'out of memory' })).toBe(
      'signal SIGKILL: out of memory',
    )
  })
})
