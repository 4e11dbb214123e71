import { describe, it, expect } from 'vitest'
import {
  define,
  hist,
  select,
  prepareDefine,
  prepareHist,
  prepareSelect,
  mergeHistograms,
  mergeHistogramLists,
  mergeCutflows,
  histogramStats,
} from './ops.ts'
import { ExprError } from './expr/index.ts'
import { HepError, sliceBatch, filterBatch, concatBatches, type EventBatch } from './types.ts'
import { generateZmumu } from './generate.ts'

/** in a destructuring default: fails the test when an expected result is missing */
const none = (): never => {
  throw new Error('an expected result is missing')
}

const batch: EventBatch = {
  length: 5,
  columns: {
    n: new Int32Array([0, 1, 2, 3, 2]),
    x: new Float64Array([-1, 0.5, 2.5, 10, NaN]),
    w: new Float64Array([1, 2, 0.5, 0.25, 4]),
    pt: { offsets: [0, 0, 1, 3, 6, 8], values: new Float64Array([5, 30, 10, 50, 25, 1, 22, 21]) },
  },
}

describe('define', () => {
  it('adds columns in order, later ones using earlier ones', () => {
    const out = define(batch, { variables: { pt2: 'pt * 2', lead: 'leading(pt2)', c: '3' } })
    expect(Object.keys(out.columns)).toEqual(['n', 'x', 'w', 'pt', 'pt2', 'lead', 'c'])
    expect(Array.from(out.columns.lead as Float64Array)).toEqual([NaN, 10, 60, 100, 44])
    expect(Array.from(out.columns.c as Float64Array)).toEqual([3, 3, 3, 3, 3])
    expect(batch.columns.pt2).toBeUndefined() // the input is not modified
  })
  it('reports required inputs and outputs', () => {
    const d = prepareDefine({ variables: { a: 'x + pi', b: 'a * n', c: 'leading(pt)' } })
    expect(d.requiredColumns()).toEqual(['x', 'n', 'pt'])
    expect(d.outputs).toEqual(['a', 'b', 'c'])
    expect(d.check({ x: 'flat', n: 'flat', pt: 'jagged' })).toMatchObject({ a: 'flat', b: 'flat', c: 'flat' })
  })
  it('puts the params path on expression errors', () => {
    try {
      prepareDefine({ variables: { ok: 'x', bad: 'x +* 2' } })
      throw new Error('no error')
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError)
      expect((e as ExprError).path).toEqual(['variables', 'bad'])
      expect((e as ExprError).column).toBe(3)
    }
    const d = prepareDefine({ variables: { y: 'leading(ptt)' } })
    try {
      d.run(batch)
      throw new Error('no error')
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError)
      expect((e as ExprError).toJSON()).toMatchObject({ column: 8, length: 3, path: ['variables', 'y'] })
      expect((e as ExprError).message).toContain("did you mean 'pt'")
    }
    expect(() => prepareDefine({ variables: { 'not a name': 'x' } })).toThrow(HepError)
    expect(() => prepareDefine({} as never)).toThrow(HepError)
  })
})

describe('select and cutflow', () => {
  it('a single cut', () => {
    const r = select(batch, { selection: 'n >= 2' })
    expect(Array.from(r.mask)).toEqual([0, 0, 1, 1, 1])
    expect(r.passed).toBe(3)
    expect(r.cutflow.rows.map((x) => [x.name, x.kind, x.depth, x.input, x.passed])).toEqual([
      ['all events', 'total', 0, 5, 5],
      ['n >= 2', 'cut', 1, 5, 3],
    ])
  })
  it('all / any with cumulative and alone counts, weighted', () => {
    const r = select(batch, {
      selection: {
        all: [
          'n >= 1',
          { name: 'pt or x', any: ['any(pt > 40)', 'x > 2'] },
          { name: 'finite x', expr: 'not isnan(x)' },
        ],
      },
      weight: 'w',
    })
    // n>=1: events 1..4; any(pt>40): 3 ; x>2: 2,3 ; not isnan(x): 0..3
    expect(Array.from(r.mask)).toEqual([0, 0, 1, 1, 0])
    const rows = r.cutflow.rows.map((x) => [x.name, x.kind, x.depth, x.input, x.passed, x.passedAlone, x.sumw])
    expect(rows).toEqual([
      ['all events', 'total', 0, 5, 5, 5, 7.75],
      ['n >= 1', 'cut', 1, 5, 4, 4, 6.75],
      ['pt or x', 'any', 1, 4, 2, 2, 0.75],
      ['any(pt > 40)', 'cut', 2, 4, 1, 1, 0.25],
      ['x > 2', 'cut', 2, 4, 2, 2, 0.75],
      ['finite x', 'cut', 1, 2, 2, 4, 0.75],
    ])
    expect(r.cutflow.weight).toBe('w')
    expect(r.cutflow.rows[1]!.sumw2).toBe(4 + 0.25 + 0.0625 + 16)
  })
  it('rejects a per-element selection with a hint', () => {
    const s = prepareSelect({ selection: { all: ['n > 0', 'pt > 20'] } })
    try {
      s.run(batch)
      throw new Error('no error')
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError)
      expect((e as ExprError).path).toEqual(['selection', 'all', 1])
      expect((e as ExprError).hint).toContain('any(pt > 20)')
    }
  })
  it('requiredColumns and empty cutflows', () => {
    const s = prepareSelect({ selection: { any: ['n > 0', 'leading(pt) > pi'] }, weight: 'w' })
    expect(s.requiredColumns().sort()).toEqual(['n', 'pt', 'w'])
    const e = s.emptyCutflow()
    expect(e.rows.every((r) => r.passed === 0 && r.sumw === 0)).toBe(true)
    expect(mergeCutflows(e, s.run(batch).cutflow)).toEqual(s.run(batch).cutflow)
  })
  it('merging partition cutflows equals the unpartitioned cutflow', () => {
    const p = prepareSelect({ selection: { all: ['n >= 1', { any: ['any(pt > 40)', 'x > 2'] }] }, weight: 'w * 0.1' })
    const whole = p.run(batch).cutflow
    const parts = [sliceBatch(batch, 0, 2), sliceBatch(batch, 2, 3), sliceBatch(batch, 3, 5)].map(
      (b) => p.run(b).cutflow,
    )
    expect(parts.reduce(mergeCutflows)).toEqual(whole)
    expect(() => mergeCutflows(whole, select(batch, { selection: 'n > 1' }).cutflow)).toThrow(HepError)
  })
})

describe('hist', () => {
  it('bins with under/overflow, missing values and sums of weights', () => {
    const [h = none()] = hist(batch, {
      histograms: [{ name: 'x', variable: 'x', bins: { n: 4, low: 0, high: 4 }, weight: 'w' }],
    })
    // x: -1 (underflow, w1), 0.5 (bin1, w2), 2.5 (bin3, w0.5), 10 (overflow, w0.25), NaN (missing)
    expect(h.sumw).toEqual([1, 2, 0, 0.5, 0, 0.25])
    expect(h.sumw2).toEqual([1, 4, 0, 0.25, 0, 0.0625])
    expect(h.entries).toBe(4)
    expect(h.missing).toBe(1)
    expect(h.axis).toEqual({ nbins: 4, low: 0, high: 4 })
    expect(h.type).toBe('hist1d')
  })
  it('fills every element of a list, weighted by the event weight', () => {
    const [h = none()] = hist(batch, { histograms: [{ name: 'pt', expr: 'pt', bins: [5, 0, 50], weight: 'w' }] })
    // event weights 2: [5]; 0.5: [30, 10]; 0.25: [50 (overflow), 25, 1]; 4: [22, 21]
    expect(h.entries).toBe(8)
    expect(h.sumw).toEqual([0, 2 + 0.25, 0.5, 0.25 + 4 + 4, 0.5, 0, 0.25])
  })
  it('unweighted counts, constant weights and top-level default weight', () => {
    const [a = none(), b = none()] = hist(batch, {
      histograms: [
        { name: 'a', expr: 'n', bins: { nbins: 4, low: 0, high: 4 } },
        { name: 'b', expr: 'n', bins: { nbins: 4, low: 0, high: 4 }, weight: 0.5 },
      ],
    })
    expect(a.sumw).toEqual([0, 1, 1, 2, 1, 0])
    expect(a.weight).toBeUndefined()
    expect(b.sumw).toEqual([0, 0.5, 0.5, 1, 0.5, 0])
    expect(b.sumw2).toEqual([0, 0.25, 0.25, 0.5, 0.25, 0])
    const [c = none()] = hist(batch, {
      weight: 'w',
      histograms: [{ name: 'c', expr: 'n', bins: { n: 4, low: 0, high: 4 } }],
    })
    expect(c.weight).toBe('w')
    expect(c.sumw).toEqual([0, 1, 2, 4.5, 0.25, 0])
  })
  it('applies a selection mask', () => {
    const { mask } = select(batch, { selection: 'n >= 2' })
    const [h = none()] = hist(
      batch,
      { histograms: [{ name: 'n', expr: 'n', bins: { n: 4, low: 0, high: 4 } }] },
      { mask },
    )
    expect(h.entries).toBe(3)
    expect(h.sumw).toEqual([0, 0, 0, 2, 1, 0])
  })
  it('validates params with paths', () => {
    const bad = (params: unknown, path: (string | number)[]) => {
      try {
        prepareHist(params as never)
        throw new Error('no error')
      } catch (e) {
        expect(e).toBeInstanceOf(HepError)
        expect((e as HepError).path).toEqual(path)
      }
    }
    bad({ histograms: [] }, ['histograms'])
    bad({ histograms: [{ name: 'a', expr: 'x' }] }, ['histograms', 0, 'bins'])
    bad({ histograms: [{ name: 'a', expr: 'x', bins: { n: 0, low: 0, high: 1 } }] }, ['histograms', 0, 'bins'])
    bad({ histograms: [{ name: 'a', expr: 'x', bins: { n: 2, low: 1, high: 1 } }] }, ['histograms', 0, 'bins'])
    bad({ histograms: [{ name: 'a', expr: 'x', variable: 'x', bins: [1, 0, 1] }] }, ['histograms', 0])
    bad(
      {
        histograms: [
          { name: 'a', expr: 'x', bins: [1, 0, 1] },
          { name: 'a', expr: 'x', bins: [1, 0, 1] },
        ],
      },
      ['histograms', 1, 'name'],
    )
    bad({ histograms: [{ name: 'a', expr: 'x', bins: { n: 2, low: 'a', high: 1 } }] }, ['histograms', 0, 'bins', 'low'])
    const p = prepareHist({ histograms: [{ name: 'a', variable: 'ptt', bins: [1, 0, 1] }] })
    expect(() => p.run(batch)).toThrow(/did you mean 'pt'/)
    const q = prepareHist({ histograms: [{ name: 'a', expr: 'n', weight: 'pt', bins: [1, 0, 1] }] })
    expect(() => q.run(batch)).toThrow(ExprError)
  })
  it('merges exactly: partitioned == unpartitioned, any order', () => {
    const data = generateZmumu({ events: 3000, seed: 11 })
    const p = prepareHist({
      histograms: [
        {
          name: 'pt',
          expr: 'sqrt(Muon_Px ** 2 + Muon_Py ** 2)',
          bins: { n: 40, low: 0, high: 120 },
          weight: 'EventWeight * 1.1',
        },
        { name: 'n', expr: 'NMuon', bins: { n: 5, low: 0, high: 5 } },
      ],
    })
    const whole = p.run(data)
    const cuts = [0, 17, 1000, 1001, 2500, 3000]
    const parts = cuts.slice(1).map((stop, i) => p.run(sliceBatch(data, cuts[i]!, stop)))
    expect(parts.reduce(mergeHistogramLists)).toEqual(whole)
    expect([...parts].reverse().reduce(mergeHistogramLists)).toEqual(whole)
    expect(mergeHistogramLists(p.empty(), whole)).toEqual(whole)
    // the merged sums of weights are the correctly rounded exact sums, not float accumulations
    const [pt = none()] = whole
    const ws = pt.sumw.reduce((a, b) => a + b, 0)
    expect(Math.abs(ws - histogramStats(pt).integral - pt.sumw[0]! - pt.sumw[41]!)).toBeLessThan(1e-9)
  })
  it('refuses to merge different histograms', () => {
    const [a = none()] = hist(batch, { histograms: [{ name: 'a', expr: 'n', bins: [4, 0, 4] }] })
    const [b = none()] = hist(batch, { histograms: [{ name: 'a', expr: 'n', bins: [5, 0, 4] }] })
    const [c = none()] = hist(batch, { histograms: [{ name: 'c', expr: 'n', bins: [4, 0, 4] }] })
    expect(() => mergeHistograms(a, b)).toThrow(/binning differs/)
    expect(() => mergeHistograms(a, c)).toThrow(HepError)
  })
})

describe('batch helpers', () => {
  it('slice, filter and concat are consistent', () => {
    const parts = [sliceBatch(batch, 0, 2), sliceBatch(batch, 2, 5)]
    const joined = concatBatches(parts)
    expect(joined.length).toBe(5)
    expect(Array.from((joined.columns.pt as { offsets: Int32Array }).offsets)).toEqual([0, 0, 1, 3, 6, 8])
    const f = filterBatch(batch, new Uint8Array([0, 1, 0, 1, 0]))
    expect(f.length).toBe(2)
    expect(Array.from((f.columns.pt as { values: Float64Array }).values)).toEqual([5, 50, 25, 1])
    expect(Array.from((f.columns.pt as { offsets: Int32Array }).offsets)).toEqual([0, 1, 4])
  })
})
