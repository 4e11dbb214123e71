/**
 * The stage schema check is skipped for a stage text already found valid (the editor re-plans the
 * whole document per keystroke): the same problems come out as when every stage is checked.
 */
import { describe, expect, it } from 'vitest'
import { compileWorkflow } from '../index.ts'

const doc = (stage2: string) =>
  ['analysis:', '  stages:', '    - id: A', '      op: noop', stage2, '    - id: C', '      op: noop', ''].join('\n')

const problems = (text: string) =>
  compileWorkflow(text).problems.map((p) => `${p.range.start.line}:${p.range.start.col} ${p.code}`)

describe('stage schema check, repeated compiles', () => {
  it('reports a stage that turns invalid, and nothing once it is valid again', () => {
    const valid = '    - id: B\n      op: noop\n      params: { n: 1 }'
    expect(problems(doc(valid))).toEqual([])
    expect(problems(doc('    - id: B\n      op: noop\n      parms: { n: 1 }'))).toEqual(['7:7 unknown-key'])
    expect(problems(doc(valid))).toEqual([])
  })
  it('checks the same text again where it is not a stage of its own (another column)', () => {
    const inner = 'id: X\n      op: noop'
    expect(problems(doc(`    - ${inner}`))).toEqual([])
    // the same characters one level deeper: a list, not a stage mapping
    const r = compileWorkflow(doc(`    - - ${inner}`))
    expect(r.problems.some((p) => p.code === 'invalid-stage')).toBe(true)
  })
  it('reports an invalid stage every time, not only the first', () => {
    const bad = doc('    - id: B\n      op: noop\n      needs: { a: 1 }')
    expect(problems(bad)).toEqual(problems(bad))
    expect(problems(bad).length).toBeGreaterThan(0)
  })
})
