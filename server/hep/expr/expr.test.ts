import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  ExprError,
  checkExpr,
  compileExpr,
  evaluate,
  exprVariables,
  parseExpr,
  tokenize,
  functionNames,
  type Value,
} from './index.ts'
import type { ColumnSchema, EventBatch } from '../types.ts'

// three events: 2 muons, none, 1 muon
const batch: EventBatch = {
  length: 3,
  columns: {
    NMuon: new Int32Array([2, 0, 1]),
    Muon_Px: { offsets: [0, 2, 2, 3], values: new Float64Array([3, 1, 5]) },
    Muon_Py: { offsets: new Int32Array([0, 2, 2, 3]), values: new Float32Array([4, 1, 12]) },
    Muon_Iso: { offsets: [0, 2, 2, 3], values: new Float64Array([0.1, 5, 1]) },
    Jet_Px: { offsets: [0, 1, 2, 4], values: new Float64Array([10, 20, 30, 40]) },
    MET: new Float64Array([1.5, 2.5, NaN]),
    Type: ['GG', 'GT', 'TT'],
  },
}
const schema: ColumnSchema = {
  NMuon: 'flat',
  Muon_Px: 'jagged',
  Muon_Py: 'jagged',
  Muon_Iso: 'jagged',
  Jet_Px: 'jagged',
  MET: 'flat',
  Type: 'string',
}

const run = (src: string): Value => evaluate(compileExpr(src, schema), batch)
const flat = (src: string): number[] => {
  const v = run(src)
  if (v.k === 'scalar') return [v.v]
  if (v.k !== 'flat') throw new Error(`not flat: ${v.k}`)
  return Array.from(v.d)
}
const jag = (src: string): { off: number[]; d: number[] } => {
  const v = run(src)
  if (v.k !== 'jagged') throw new Error(`not jagged: ${v.k}`)
  return { off: Array.from(v.off), d: Array.from(v.d) }
}
const err = (src: string, s: ColumnSchema = schema): ExprError => {
  try {
    evaluate(compileExpr(src, s), batch)
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError)
    return e as ExprError
  }
  throw new Error(`no error for ${src}`)
}

describe('tokenizer', () => {
  it('reads numbers, names, operators and keeps offsets', () => {
    const t = tokenize('1.5e3 + .5*x_1 ** 2 && !`odd name` != "s"')
    expect(t.map((x) => [x.type, x.value, x.start])).toEqual([
      ['num', '1.5e3', 0],
      ['op', '+', 6],
      ['num', '.5', 8],
      ['op', '*', 10],
      ['ident', 'x_1', 11],
      ['op', '**', 15],
      ['num', '2', 18],
      ['op', 'and', 20],
      ['op', 'not', 23],
      ['ident', 'odd name', 24],
      ['op', '!=', 35],
      ['str', 's', 38],
      ['eof', '', 41],
    ])
    expect(t[0]?.num).toBe(1500)
  })
})

describe('parser', () => {
  it('follows the documented precedence', () => {
    expect(flat('1 + 2 * 3')).toEqual([7])
    expect(flat('-2 ** 2')).toEqual([-4])
    expect(flat('2 ** 3 ** 2')).toEqual([512])
    expect(flat('2 ** -1')).toEqual([0.5])
    expect(flat('10 - 4 - 3')).toEqual([3])
    expect(flat('7 % 4 * 2')).toEqual([6])
    expect(flat('not 1 > 2 and 0 or 1')).toEqual([1])
    expect(flat('not (1 > 2 and 0)')).toEqual([1])
    expect(() => flat('1 < 2 == 1')).toThrow(/chained comparison/)
    expect(flat('(1 < 2) == 1')).toEqual([1])
  })
  it('collects the variables read', () => {
    expect(exprVariables(parseExpr('sqrt(Muon_Px ** 2 + Muon_Py ** 2) + Muon_Px[0] + pi').ast)).toEqual([
      'Muon_Px',
      'Muon_Py',
      'pi',
    ])
  })
})

describe('evaluation', () => {
  it('computes the brief examples over jagged columns', () => {
    expect(jag('sqrt(Muon_Px ** 2 + Muon_Py ** 2)')).toEqual({ off: [0, 2, 2, 3], d: [5, Math.SQRT2, 13] })
    expect(jag('(Muon_Iso / sqrt(Muon_Px ** 2 + Muon_Py ** 2)) < 0.10')).toEqual({ off: [0, 2, 2, 3], d: [1, 0, 1] })
    expect(flat('leading(sqrt(Muon_Px ** 2 + Muon_Py ** 2)) > 4')).toEqual([1, 0, 1])
    expect(flat('NMuon >= 2')).toEqual([1, 0, 0])
  })
  it('reduces lists', () => {
    expect(flat('leading(Muon_Px)')).toEqual([3, NaN, 5])
    expect(flat('subleading(Muon_Px)')).toEqual([1, NaN, NaN])
    expect(flat('count(Muon_Px)')).toEqual([2, 0, 1])
    expect(flat('len(Jet_Px)')).toEqual([1, 1, 2])
    expect(flat('sum(Muon_Px)')).toEqual([4, 0, 5])
    expect(flat('sum(Muon_Px > 2)')).toEqual([1, 0, 1])
    expect(flat('any(Muon_Px > 4)')).toEqual([0, 0, 1])
    expect(flat('all(Muon_Px > 2)')).toEqual([0, 1, 1])
    expect(flat('maxof(Jet_Px)')).toEqual([10, 20, 40])
    expect(flat('minof(Muon_Px)')).toEqual([1, NaN, 5])
  })
  it('indexes lists, with negative indices and masks', () => {
    expect(flat('Muon_Px[0]')).toEqual([3, NaN, 5])
    expect(flat('Muon_Px[1]')).toEqual([1, NaN, NaN])
    expect(flat('Muon_Px[-1]')).toEqual([1, NaN, 5])
    // event 1 has NMuon - 1 = -1: the last jet
    expect(flat('Jet_Px[NMuon - 1]')).toEqual([NaN, 20, 30])
    expect(jag('Muon_Px[Muon_Iso < 2]')).toEqual({ off: [0, 1, 1, 2], d: [3, 5] })
    expect(flat('count(Muon_Px[Muon_Px > 2])')).toEqual([1, 0, 1])
  })
  it('broadcasts per-event values over lists', () => {
    expect(jag('Muon_Px * NMuon')).toEqual({ off: [0, 2, 2, 3], d: [6, 2, 5] })
    expect(jag('max(Muon_Px, 2)')).toEqual({ off: [0, 2, 2, 3], d: [3, 2, 5] })
    expect(jag('Muon_Px - 1')).toEqual({ off: [0, 2, 2, 3], d: [2, 0, 4] })
  })
  it('has the documented functions', () => {
    expect(flat('abs(-2) + exp(0) + log(1) + sin(0) + cos(0) + tan(0)')).toEqual([4])
    expect(flat('atan2(1, 1) * 4')).toEqual([Math.PI])
    expect(flat('min(3, 1, 2) + max(3, 1, 2) + pow(2, 10) + hypot(3, 4)')).toEqual([1 + 3 + 1024 + 5])
    expect(flat('where(NMuon > 0, NMuon, -1)')).toEqual([2, -1, 1])
    expect(flat('isnan(MET)')).toEqual([0, 0, 1])
    expect(flat('hypot(NMuon, 0, 0)')).toEqual([2, 0, 1])
  })
  it('treats NaN as missing: false in conditions', () => {
    expect(flat('leading(Muon_Px) > 0')).toEqual([1, 0, 1])
    expect(flat('MET > 0 or 0')).toEqual([1, 1, 0])
    expect(flat('not MET')).toEqual([0, 0, 1])
  })
  it('compares string columns with literals', () => {
    expect(flat('Type == "GG"')).toEqual([1, 0, 0])
    expect(flat("Type != 'GG' and NMuon > 0")).toEqual([0, 0, 1])
  })
  it('uses constants unless a column shadows them', () => {
    expect(flat('pi')).toEqual([Math.PI])
    expect(flat('true + false')).toEqual([1])
    const b2: EventBatch = { length: 1, columns: { pi: new Float64Array([3]) } }
    const v = evaluate(compileExpr('pi', { pi: 'flat' }), b2)
    expect(v.k === 'flat' && Array.from(v.d)).toEqual([3])
  })
})

describe('errors carry the column of the offending text', () => {
  it('unknown variable with did-you-mean', () => {
    const e = err('NMuon > 1 and leading(Muon_Pt) > 20')
    expect(e.toJSON()).toMatchObject({ column: 22, length: 7, kind: 'name' })
    expect(e.message).toContain("did you mean 'Muon_Px'")
    expect(e.hint).toBe("did you mean 'Muon_Px'?")
  })
  it('unknown function with did-you-mean', () => {
    const e = err('1 + sqr(NMuon)')
    expect(e.toJSON()).toMatchObject({ column: 4, length: 3, kind: 'name' })
    expect(e.message).toContain("did you mean 'sqrt'")
  })
  it('syntax errors', () => {
    expect(err('NMuon >= ').toJSON()).toMatchObject({ column: 9, length: 0, kind: 'syntax' })
    expect(err('(NMuon + 1').toJSON()).toMatchObject({ column: 0, length: 1, kind: 'syntax' })
    expect(err('NMuon = 2').toJSON()).toMatchObject({ column: 6, length: 1, hint: "use '==' to compare" })
    expect(err('NMuon ^ 2').toJSON()).toMatchObject({ column: 6, hint: "use '**' for powers" })
    expect(err('2NMuon').toJSON()).toMatchObject({ column: 1, length: 5 })
    expect(err('1 < NMuon < 3').toJSON()).toMatchObject({ column: 10, length: 1 })
    expect(err('NMuon 2').toJSON()).toMatchObject({ column: 6, length: 1 })
    expect(err('NMuon)').toJSON()).toMatchObject({ column: 5, message: "unmatched ')'" })
    expect(err('').toJSON()).toMatchObject({ column: 0, message: 'empty expression' })
    expect(err('"abc').toJSON()).toMatchObject({ column: 0, length: 4 })
    expect(err('x # y').toJSON()).toMatchObject({ column: 2, message: "unexpected character '#'" })
  })
  it('type errors', () => {
    expect(err('leading(NMuon)').toJSON()).toMatchObject({ column: 8, length: 5, kind: 'type' })
    expect(err('NMuon[0]').toJSON()).toMatchObject({ column: 0, length: 5, kind: 'type' })
    expect(err('Muon_Px[0.5]').toJSON()).toMatchObject({ column: 8, length: 3, kind: 'type' })
    expect(err('sqrt(1, 2)').toJSON()).toMatchObject({ column: 0, length: 10, kind: 'type' })
    expect(err('Type * 2').toJSON()).toMatchObject({ column: 0, length: 4, kind: 'type' })
    expect(err('sqrt').toJSON()).toMatchObject({ column: 0, length: 4, kind: 'name' })
  })
  it('runtime errors for lists of different lengths point at the operation', () => {
    const e = err('NMuon + (Muon_Px + Jet_Px)')
    expect(e.toJSON()).toMatchObject({ column: 8, length: 18, kind: 'runtime' })
    expect(e.message).toContain('event 0')
  })
  it('formats a caret display', () => {
    const e = err('NMuon > Foo')
    expect(e.format().split('\n').slice(0, 2)).toEqual(['  NMuon > Foo', '          ^^^'])
  })
  it('checkExpr validates without data', () => {
    expect(checkExpr('leading(x) > 1')).toBeNull()
    expect(checkExpr('leading(x) > 1', { y: 'jagged' })).toMatchObject({ column: 8, kind: 'name' })
    expect(checkExpr('leading(x) >')).toMatchObject({ column: 12, kind: 'syntax' })
  })
})

describe('parse once, evaluate many partitions', () => {
  it('gives the same numbers per partition as on the whole batch', () => {
    const bound = compileExpr('sum(Muon_Px * NMuon) + count(Jet_Px)', schema)
    const whole = evaluate(bound, batch)
    const parts = [0, 1, 2].map((i) => {
      const off = (batch.columns.Muon_Px as { offsets: number[] }).offsets
      const joff = (batch.columns.Jet_Px as { offsets: number[] }).offsets
      const sub: EventBatch = {
        length: 1,
        columns: {
          NMuon: (batch.columns.NMuon as Int32Array).slice(i, i + 1),
          Muon_Px: {
            offsets: [0, off[i + 1]! - off[i]!],
            values: (batch.columns.Muon_Px as { values: Float64Array }).values.slice(off[i], off[i + 1]),
          },
          Jet_Px: {
            offsets: [0, joff[i + 1]! - joff[i]!],
            values: (batch.columns.Jet_Px as { values: Float64Array }).values.slice(joff[i], joff[i + 1]),
          },
        },
      }
      const v = evaluate(bound, sub)
      return v.k === 'flat' ? v.d[0] : NaN
    })
    expect(whole.k === 'flat' && Array.from(whole.d)).toEqual(parts)
  })
})

// ------------------------------------------------------------ property: only ExprError escapes

const atoms = [
  'NMuon',
  'Muon_Px',
  'Muon_Py',
  'Jet_Px',
  'MET',
  'Type',
  'pi',
  'nan',
  'inf',
  'Foo',
  '0',
  '1',
  '2.5',
  '1e308',
  '-1',
  '"GG"',
  "'x'",
  '`Muon_Px`',
]
const ops = ['+', '-', '*', '/', '%', '**', '<', '<=', '>', '>=', '==', '!=', 'and', 'or', '&&', '||']
const fnames = [...functionNames(), 'nosuch']

const wellFormed: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...atoms),
    fc.tuple(tie('e'), fc.constantFrom(...ops), tie('e')).map(([a, o, b]) => `${a} ${o} ${b}`),
    fc.tuple(fc.constantFrom('-', 'not ', '!', '+'), tie('e')).map(([o, a]) => `${o}${a}`),
    tie('e').map((a) => `(${a})`),
    fc
      .tuple(fc.constantFrom(...fnames), fc.array(tie('e'), { maxLength: 3 }))
      .map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(tie('e'), tie('e')).map(([a, i]) => `${a}[${i}]`),
  ),
})).e

// token soup: arbitrary sequences of the language's pieces (mostly malformed)
const soup = fc
  .array(
    fc.constantFrom(...atoms, ...ops, ...fnames, '(', ')', '[', ']', ',', ' ', '`', '"', '.', '=', '^', '#', '\n'),
    { maxLength: 25 },
  )
  .map((xs) => xs.join(''))

function onlyExprError(src: string): boolean {
  try {
    const v = evaluate(compileExpr(src, schema), batch)
    // a successful evaluation has a well-formed shape
    if (v.k === 'flat') return v.d.length === batch.length
    if (v.k === 'jagged') return v.off.length === batch.length + 1 && v.off[batch.length] === v.d.length
    return true
  } catch (e) {
    if (e instanceof ExprError) {
      const j = e.toJSON()
      return (
        Number.isInteger(j.column) &&
        j.column >= 0 &&
        j.column <= src.length &&
        j.length >= 0 &&
        j.column + j.length <= src.length &&
        !!j.message
      )
    }
    throw e
  }
}

describe('property: random expressions only ever throw ExprError', () => {
  it('well-formed-ish expressions', () => {
    fc.assert(fc.property(wellFormed, onlyExprError), { numRuns: 1500, seed: 20240611 })
  })
  it('token soup', () => {
    fc.assert(fc.property(soup, onlyExprError), { numRuns: 1500, seed: 7 })
  })
  it('arbitrary unicode strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), onlyExprError), { numRuns: 800, seed: 3 })
  })
  it('deep nesting is an ExprError, not a stack overflow', () => {
    const deep = `${'('.repeat(5000)}1${')'.repeat(5000)}`
    expect(onlyExprError(deep)).toBe(true)
    expect(() => compileExpr(deep, schema)).toThrow(ExprError)
    expect(onlyExprError('-'.repeat(3000) + '1')).toBe(true)
  })
})
