/**
 * Hostile workflow text (alias bombs, deep nesting, floods of syntax errors, binary) compiled the
 * way a save compiles it (the worker pool): every input answers, with a plan or positioned
 * problems, within the time budget, and the server's own memory does not grow with it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { COMPILE_BUDGET_MS, compileBounded, warmCompilePool } from './compile-pool.ts'

/** the budget plus the pool's own overhead (message passing, replacing a terminated worker) and
 * the slack of a loaded machine: a bound, not a speed measurement (bench/ measures speed) */
const BOUND_MS = COMPILE_BUDGET_MS + 5000
const MiB = 1024 * 1024

const aliasBomb = fc
  .record({ width: fc.integer({ min: 2, max: 40 }), depth: fc.integer({ min: 2, max: 9 }) })
  .map(({ width, depth }) => {
    // billion laughs: each level lists the previous one `width` times
    let y = 'l0: &l0 [x, x, x, x, x, x, x, x]\n'
    for (let i = 1; i <= depth; i++)
      y += `l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]\n`
    return `name: bomb\n${y}analysis:\n  stages:\n    - id: A\n      op: noop\n      params: { x: *l${depth} }\n`
  })
const wideAliases = fc.integer({ min: 100, max: 999 }).map((n) => {
  const list = Array.from({ length: 20_000 }, () => '1').join(',')
  return `name: wide\nbig: &a [${list}]\nanalysis:\n  stages:\n    - id: A\n      op: noop\n      params:\n        x: [${Array.from({ length: n }, () => '*a').join(', ')}]\n`
})
const nesting = fc.integer({ min: 1000, max: 100_000 }).map((n) => `analysis: ${'['.repeat(n)}${']'.repeat(n)}\n`)
const errorFlood = fc
  .constantFrom('- : : ]]] {{ "\n', '}{][:,\n', '  - a: b\n - c\n', 'key: "unterminated\n', '\t\tx: y\n')
  .chain((line) => fc.integer({ min: 1000, max: Math.floor(MiB / line.length) }).map((n) => line.repeat(n)))
const manyStages = fc
  .integer({ min: 1000, max: 20_000 })
  .map(
    (n) =>
      `analysis:\n  stages:\n${Array.from({ length: n }, (_, i) => `    - { id: S${i}, op: nope.${i}, needs: [missing${i}] }\n`).join('')}`,
  )
const binary = fc.uint8Array({ minLength: 1, maxLength: 256 * 1024 }).map((b) => Buffer.from(b).toString('latin1'))

describe('compiling hostile YAML', () => {
  it('answers every input within the budget, with bounded memory in the server', async () => {
    const before = process.memoryUsage().heapUsed
    let worst = 0
    await fc.assert(
      fc.asyncProperty(fc.oneof(aliasBomb, wideAliases, nesting, errorFlood, manyStages, binary), async (yaml) => {
        const t0 = performance.now()
        const r = await compileBounded(yaml)
        const ms = performance.now() - t0
        worst = Math.max(worst, ms)
        expect(ms).toBeLessThan(BOUND_MS)
        // a small "bomb" is just a workflow; anything else says what is wrong
        expect(r.ok || r.problems.some((p) => p.severity === 'error')).toBe(true)
        expect(r.problems.length).toBeLessThanOrEqual(502)
        for (const p of r.problems) {
          expect(p.range.start.line).toBeGreaterThanOrEqual(1)
          // a budget error is the budget, never a broken worker
          if (p.code === 'compile-budget') expect(p.message).toMatch(/could not be compiled within \d/)
        }
      }),
      { numRuns: 24, seed: 14 },
    )
    globalThis.gc?.()
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * MiB)
    expect(worst).toBeLessThan(BOUND_MS)
  }, 300_000)

  it('refuses an alias bomb with a positioned error, and still compiles ordinary text', async () => {
    const bomb = `name: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\nanalysis:\n  stages:\n    - { id: A, op: noop, params: { x: *f } }\n`
    const r = await compileBounded(bomb)
    expect(r.problems[0]).toMatchObject({ code: 'yaml-alias', range: { start: { line: 3 } } })
    expect(r.problems[0]!.message).toMatch(/aliases expand the document to more than 1,000,000 nodes/)
    const ok = await compileBounded('analysis:\n  stages:\n    - { id: A, op: noop }\n')
    expect(ok.ok).toBe(true)
    expect(ok.plan?.stages.map((s) => s.id)).toEqual(['A'])
  }, 60_000)

  it('says where a too-deep nesting starts, not that the compiler has a bug', async () => {
    const r = await compileBounded(`name: deep\nanalysis:\n  x: ${'['.repeat(200_000)}\n`)
    expect(r.ok).toBe(false)
    expect(r.problems[0]!.message).toMatch(/nests too deeply to compile .*from line 3, column 1\d{3}/)
    expect(r.problems[0]!.message).not.toMatch(/bug|unexpectedly/)
    expect(r.problems[0]!.range.start.line).toBe(3)
  }, 60_000)

  it('a save right after one over its budget is compiled by a loaded spare, not after a reload', async () => {
    await warmCompilePool() // as the server does at start: the workers and a loaded spare
    const flood = '- : : ]]] {{ "\n'.repeat(Math.floor((1024 * 1024 - 16) / 15))
    const over = await compileBounded(flood)
    expect(over.ok).toBe(false)
    // the terminated worker's replacement is still loading here; the spare answers at once
    const t0 = performance.now()
    const ok = await compileBounded('analysis:\n  stages:\n    - { id: A, op: noop }\n')
    expect(ok.ok).toBe(true)
    expect(performance.now() - t0).toBeLessThan(COMPILE_BUDGET_MS)
  }, 60_000)
})
