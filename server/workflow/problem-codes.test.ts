import { describe, expect, it } from 'vitest'
import { compileWorkflow } from './compile.ts'
import { isProblemCode, PROBLEM_CODES } from './problem-codes.ts'

describe('problem codes', () => {
  it('are declared once each, in kebab-case', () => {
    expect(new Set(PROBLEM_CODES).size).toBe(PROBLEM_CODES.length)
    for (const c of PROBLEM_CODES) expect(c).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)+$|^cycle$/)
  })

  it('every problem the compiler reports carries a declared code', () => {
    const r = compileWorkflow(
      'analysis:\n  stages:\n    - id: A\n      op: noop\n      needs: [Z]\n    - id: A\n      op: 3\n',
    )
    expect(r.problems.length).toBeGreaterThan(0)
    for (const p of r.problems) expect(isProblemCode(p.code), p.code).toBe(true)
  })
})
