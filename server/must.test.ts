import { describe, expect, it } from 'vitest'
import { must, mustHave } from './must.ts'

describe('must', () => {
  it('returns a present value unchanged, including falsy ones', () => {
    expect(must(0, 'a count')).toBe(0)
    expect(must('', 'a name')).toBe('')
    expect(must(false, 'a flag')).toBe(false)
    const stage = { id: 'A' }
    expect(must(stage, 'stage A')).toBe(stage)
  })

  it('throws an error naming the missing element', () => {
    expect(() => must(undefined, 'task B in the run')).toThrow('expected task B in the run, got undefined')
    expect(() => must([1, 2][5], 'the sixth element')).toThrow('expected the sixth element, got undefined')
    expect(() => must(null, 'a stage')).toThrow('expected a stage, got null')
  })
})

describe('mustHave', () => {
  it('returns the record itself when every key is there', () => {
    const byStage: Record<string, { state: string }> = { A: { state: 'failed' }, B: { state: 'skipped' } }
    const checked = mustHave(byStage, ['A', 'B'], 'the tasks of run r1')
    expect(checked).toBe(byStage)
    expect(checked.A.state).toBe('failed')
  })

  it('names the missing key, where it was expected and what is there', () => {
    const byStage: Record<string, { state: string }> = { A: { state: 'failed' } }
    expect(() => mustHave(byStage, ['A', 'B'], 'the tasks of run r1')).toThrow(
      'expected B in the tasks of run r1 (present: A)',
    )
    expect(() => mustHave({}, ['A'], 'an empty run')).toThrow('expected A in an empty run (present: none)')
  })
})
