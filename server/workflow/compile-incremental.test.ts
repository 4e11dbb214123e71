import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generateLarge } from '../../examples/generate-large.ts'
import { type CompileResult, compileWorkflow, createWorkflowCompiler } from './index.ts'
import { applyEdits, EDIT_CHUNKS, EDIT_OPS } from './testutil.ts'

const EX = join(import.meta.dirname, '../../examples')
const examples = readdirSync(EX)
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('large'))
  .map((f) => readFileSync(join(EX, f), 'utf8'))
/** the shape of examples/large-500.yaml, smaller: each step compiles it twice */
const large = generateLarge(120)

/** Everything a caller sees of a result, as text (the plan with its hash). */
const seen = (r: CompileResult) =>
  JSON.stringify({ ok: r.ok, plan: r.plan, problems: r.problems, stageRanges: r.stageRanges })

/** Offsets of every character inside `analysis.stages` items (where the incremental path applies). */
function stageOffsets(text: string): number[] {
  const start = text.indexOf('\n  stages:\n')
  const end = text.indexOf('\n\n', start + 1)
  const out: number[] = []
  for (let i = start + 12; i < (end < 0 ? text.length : end); i++) out.push(i)
  return out
}

describe('the incremental compiler (the composer worker) gives what a whole compile gives', () => {
  it('after every step of random editing of the examples', () => {
    const steps = fc.array(
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDIT_OPS), fc.constantFrom(...EDIT_CHUNKS)), {
        minLength: 1,
        maxLength: 2,
      }),
      { minLength: 1, maxLength: 6 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: examples.length - 1 }), steps, fc.boolean(), (e, edits, forRun) => {
        const compiler = createWorkflowCompiler()
        let text = examples[e]!
        compiler.compile(text, { forRun })
        for (const ops of edits) {
          text = applyEdits(text, ops)
          expect(seen(compiler.compile(text, { forRun }))).toBe(seen(compileWorkflow(text, { forRun })))
        }
      }),
      { numRuns: 60, seed: 3 },
    )
  })

  it('for typing inside the stages of a 120-stage workflow (the incremental path)', () => {
    const offsets = stageOffsets(large)
    const typing = fc.array(
      fc.tuple(
        fc.constantFrom(...offsets),
        // mostly what typing a value is, some structure (a new line, a list, a quote)
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('x', '1', 'S0', '.', ' ', '') },
          {
            weight: 1,
            arbitrary: fc.constantFrom(':', '-', '"', '[', ']', ',', '\n', '\n      ', '#', 'needs: [B0S001, B1S002]'),
          },
        ),
      ),
      { minLength: 1, maxLength: 5 },
    )
    fc.assert(
      fc.property(typing, (keys) => {
        const compiler = createWorkflowCompiler()
        let text = large
        compiler.compile(text, { fileName: 'large.yaml' })
        for (const [at, typed] of keys) {
          const p = Math.min(at, text.length)
          // '' deletes the character there (backspace)
          text = typed === '' ? text.slice(0, p) + text.slice(p + 1) : text.slice(0, p) + typed + text.slice(p)
          const got = compiler.compile(text, { fileName: 'large.yaml' })
          expect(seen(got)).toBe(seen(compileWorkflow(text, { fileName: 'large.yaml' })))
        }
      }),
      { numRuns: 40, seed: 5 },
    )
  })

  it('an edited stage is checked again: an error typed in it is reported, and fixing it clears it', () => {
    const compiler = createWorkflowCompiler()
    expect(compiler.compile(large).ok).toBe(true)
    const broken = large.replace(
      '      op: custom.skim\n      params: { variables: { v1:',
      '      op: custom.skim\n      retries: many\n      params: { variables: { v1:',
    )
    expect(broken).not.toBe(large)
    const r = compiler.compile(broken)
    expect(r.ok).toBe(false)
    expect(r.problems.find((p) => p.severity === 'error')).toMatchObject({ code: 'unknown-key' })
    expect(seen(r)).toBe(seen(compileWorkflow(broken)))
    expect(compiler.compile(large).ok).toBe(true)
  })
})
