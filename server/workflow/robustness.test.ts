import { describe, it, expect } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { parse, stringify } from 'yaml'
import { compileWorkflow } from './index.ts'
import type { CompileResult } from './index.ts'
import { applyEdits, EDIT_CHUNKS, EDIT_OPS } from './testutil.ts'

const EX = join(import.meta.dirname, '../../examples')
const small = readdirSync(EX)
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('large'))
  .map((f) => readFileSync(join(EX, f), 'utf8'))
const large = readFileSync(join(EX, 'large-500.yaml'), 'utf8')

/**
 * Compile and check the result's invariants; any exception fails the property. Violations are
 * collected first and asserted once (expect() per field is slow in a 1,000-run property).
 */
function check(text: string, forRun = false): CompileResult {
  const r = compileWorkflow(text, { forRun })
  const bad: string[] = []
  const lineStarts = [0]
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1)
  if (r.ok !== !r.problems.some((p) => p.severity === 'error')) bad.push('ok does not match the problems')
  for (const p of r.problems) {
    if (p.code === 'internal-error') bad.push(`internal error: ${p.message}`)
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(p.code)) bad.push(`code ${p.code}`)
    if (p.severity !== 'error' && p.severity !== 'warning') bad.push(`severity ${p.severity}`)
    const { start, end } = p.range
    if (!(start.offset >= 0 && end.offset <= text.length && start.offset <= end.offset))
      bad.push(`range ${JSON.stringify(p.range)}`)
    if (lineStarts[start.line - 1]! + start.col - 1 !== start.offset)
      bad.push(`line/col ${start.line}:${start.col} vs offset ${start.offset}`)
    if (!(start.line === lineStarts.length || lineStarts[start.line]! > start.offset)) bad.push(`line ${start.line}`)
  }
  if (r.plan) {
    const json = JSON.stringify(r.plan)
    if (!/^[0-9a-f]{64}$/.test(JSON.parse(json).hash)) bad.push('hash')
    const ids = new Set(r.plan.stages.map((s) => s.id))
    if (ids.size !== r.plan.stages.length) bad.push('duplicate ids in plan')
    const pools = new Set(r.plan.pools.map((p) => p.name))
    for (const s of r.plan.stages) {
      if (!pools.has(s.pool)) bad.push(`stage ${s.id} on unknown pool ${s.pool}`)
      for (const n of s.needs) if (!ids.has(n)) bad.push(`stage ${s.id} needs unknown ${n}`)
    }
    for (const e of r.plan.edges) if (!ids.has(e.from) || !ids.has(e.to)) bad.push(`edge ${e.from}->${e.to}`)
  }
  if (bad.length) expect(bad, text).toEqual([])
  return r
}

const edits = fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDIT_OPS), fc.constantFrom(...EDIT_CHUNKS)), {
  minLength: 1,
  maxLength: 6,
})

describe('nothing the user types crashes the compiler', () => {
  it('random character and line edits of the examples', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: small.length - 1 }), edits, fc.boolean(), (i, ops, forRun) => {
        check(applyEdits(small[i]!, ops), forRun)
      }),
      { numRuns: 250, seed: 7 },
    )
  })

  it('random edits of the 500-stage example', () => {
    fc.assert(
      fc.property(edits, (ops) => {
        check(applyEdits(large, ops))
      }),
      { numRuns: 6, seed: 11 },
    )
  })

  it('every prefix of an example (typing it from the start)', () => {
    const text = small[0]
    for (let n = 0; n <= text!.length; n += 3) check(text!.slice(0, n))
  })

  it('arbitrary values at arbitrary places (wrong types everywhere)', () => {
    const docs = small.map((t) => parse(t) as unknown)
    const paths = docs.map((d) => {
      const out: (string | number)[][] = []
      const walk = (v: unknown, p: (string | number)[]) => {
        out.push(p)
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]))
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k])
      }
      walk(d, [])
      return out
    })
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(null, '', 0, -1, 1.5, true, [], {}, 'gpu', '4GB', '02:00:00', ['A'], { node: 'X' }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: docs.length - 1 }), fc.nat(), value, fc.boolean(), (i, pi, v, asKey) => {
        const doc = structuredClone(docs[i]) as Record<string, unknown>
        const path = paths[i]![pi % paths[i]!.length]
        if (path!.length === 0) {
          check(stringify(v))
          return
        }
        let cur = doc as Record<string | number, unknown>
        for (const seg of path!.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>
        const last = path![path!.length - 1]
        if (asKey && !Array.isArray(cur)) {
          const k = typeof v === 'string' && v ? v : 'zz_unknown'
          cur[k] = cur[last!]
        } else cur[last!] = v
        check(stringify(doc))
      }),
      { numRuns: 300, seed: 3 },
    )
  })

  it('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        check(s)
        check('analysis:\n  stages:\n' + s)
      }),
      { numRuns: 300, seed: 5 },
    )
  })

  it('a cascade of YAML errors is capped', () => {
    const r = check(' ' + large.slice(1)) // '# Generated' -> ' Generated': every later line is an error
    const syntax = r.problems.filter((p) => p.code === 'yaml-syntax')
    expect(syntax.length).toBe(51)
    expect(syntax.some((p) => /more YAML errors/.test(p.message))).toBe(true)
  })

  it('hostile inputs', () => {
    check('a: &a [*a, *a]\n')
    check(
      'x: &a [1,2]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nv: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nanalysis: {stages: []}\n',
    )
    check('analysis:\n  stages:\n    - &s { id: A, op: noop }\n    - *s\n    - *missing\n')
    check(
      'analysis: {stages: [{id: A, op: noop, needs: [A, A, B]}]}\n' + 'x: ' + '['.repeat(500) + ']'.repeat(500) + '\n',
    )
    check('\uFEFFanalysis:\n  stages: []\n')
    check('analysis:\n  stages:\n' + '    - { id: S, op: noop, needs: [S] }\n'.repeat(50))
    check(
      'analysis:\n  stages:\n    - { id: __proto__, op: noop }\n    - { id: constructor, op: noop, needs: [__proto__] }\n',
    )
    check(
      '__proto__: { polluted: true }\nanalysis:\n  stages: [{ id: A, op: noop, params: { __proto__: { x: 1 } } }]\nexecution:\n  pools:\n    __proto__: { workers: 2 }\n',
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const r = check('__proto__: { x: 1 }\nanalysis:\n  stages: [{ id: A, op: noop }]\n')
    expect(Object.hasOwn(r.plan!.passthrough, '__proto__')).toBe(true)
    expect(JSON.parse(JSON.stringify(r.plan)).passthrough).toEqual(JSON.parse('{"__proto__":{"x":1}}'))
  })
})
