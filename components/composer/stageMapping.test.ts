import { describe, expect, it } from 'vitest'
import type { Problem, SourceRange } from '~/server/workflow'
import { buildStageIndex, offsetAt, problemsByStage, stageAt } from './stageMapping'

const src = `analysis:
  stages:
    - id: A
      op: noop
    - id: B
      op: noop
      execution:
        require: gpu
`
function range(text: string, startLine: number, startCol: number, endLine: number, endCol: number): SourceRange {
  return {
    start: { line: startLine, col: startCol, offset: offsetAt(text, startLine, startCol) },
    end: { line: endLine, col: endCol, offset: offsetAt(text, endLine, endCol) },
  }
}
const ranges = { A: range(src, 3, 7, 5, 1), B: range(src, 5, 7, 9, 1) }

describe('stageAt', () => {
  const index = buildStageIndex(ranges)
  it('finds the stage around an offset', () => {
    expect(stageAt(index, { offset: offsetAt(src, 4, 9) })).toBe('A')
    expect(stageAt(index, { offset: offsetAt(src, 8, 15) })).toBe('B')
    expect(stageAt(index, { offset: 0, line: 1 })).toBeNull()
  })
  it('maps the `- ` before a stage to that stage', () => {
    expect(stageAt(index, { offset: offsetAt(src, 5, 5), line: 5 })).toBe('B')
    expect(stageAt(index, { offset: offsetAt(src, 3, 3), line: 3 })).toBe('A')
  })
})

describe('stageAt after Enter at the end of a stage', () => {
  // what the compiler gives once "\n      " was typed after A's last line: A's range ends at `noop`
  const typed = `analysis:
  stages:
    - id: A
      op: noop
      
    - id: B
      op: noop
`
  const index = buildStageIndex({ A: range(typed, 3, 7, 4, 15), B: range(typed, 6, 7, 7, 15) })
  it('keeps the new, indented line in the stage above', () => {
    expect(stageAt(index, { offset: offsetAt(typed, 5, 7), line: 5, col: 7, indentCol: 0 })).toBe('A')
  })
  it('does not when the new line is outdented to the list or the top level', () => {
    expect(stageAt(index, { offset: offsetAt(typed, 5, 5), line: 5, col: 5, indentCol: 0 })).toBeNull()
    expect(stageAt(index, { offset: offsetAt(typed, 5, 1), line: 5, col: 1, indentCol: 0 })).toBeNull()
  })
})

describe('offsetAt', () => {
  it('counts lines and columns from 1', () => {
    expect(offsetAt('ab\ncd', 1, 1)).toBe(0)
    expect(offsetAt('ab\ncd', 2, 2)).toBe(4)
    expect(offsetAt('ab', 5, 1)).toBe(2)
  })
})

describe('problemsByStage', () => {
  const plan = {
    stages: [
      { id: 'A', index: 0 },
      { id: 'B', index: 1 },
    ],
  } as never
  const p = (
    path: Problem['path'],
    severity: Problem['severity'],
    r: SourceRange = range(src, 1, 1, 1, 1),
  ): Problem => ({
    code: 'unknown-pool',
    severity,
    message: 'm',
    range: r,
    path,
  })
  it('uses the YAML path, then the range, keeping the worst severity', () => {
    const m = problemsByStage(
      [
        p(['analysis', 'stages', 1, 'execution', 'require'], 'warning'),
        p(['analysis', 'stages', 1], 'error'),
        p([], 'warning', range(src, 4, 9, 4, 13)),
      ],
      plan,
      ranges,
    )
    expect(m.get('B')?.severity).toBe('error')
    expect(m.get('B')?.messages).toHaveLength(2)
    expect(m.get('A')?.severity).toBe('warning')
  })
})
