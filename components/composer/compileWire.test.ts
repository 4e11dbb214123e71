import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileWorkflow, planHashInput } from '~/server/workflow'
import { decodeResult, encodeResult } from './compileWire'

const example = readFileSync(join(import.meta.dirname, '../../examples/large-500.yaml'), 'utf8')

describe('compile result wire format (worker → page)', () => {
  it('decodes to the same result, the plan JSON byte for byte (hash in its sorted place)', () => {
    const result = compileWorkflow(example, { fileName: 'large-500.yaml' })
    const plan = result.plan
    if (!plan) throw new Error('no plan')
    const text = planHashInput(plan)
    expect(text).not.toBeNull()
    const decoded = decodeResult(encodeResult(result, text, plan.hash, 12.5))
    expect(decoded.ms).toBe(12.5)
    expect(JSON.stringify(decoded.result.plan)).toBe(JSON.stringify(plan))
    expect(decoded.result.problems).toEqual(result.problems)
    expect(decoded.result.stageRanges).toEqual(result.stageRanges)
    expect(decoded.result.ok).toBe(result.ok)
  })
  it('carries a result without a plan (YAML that does not parse) with its problems', () => {
    const result = compileWorkflow('analysis: [unclosed', { fileName: 'bad.yaml' })
    expect(result.plan).toBeNull()
    const decoded = decodeResult(encodeResult(result, null, '', 1))
    expect(decoded.result.plan).toBeNull()
    expect(decoded.result.problems).toEqual(result.problems)
    expect(decoded.result.problems.length).toBeGreaterThan(0)
  })
})
