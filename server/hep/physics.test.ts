/**
 * End-to-end physics on the real ROOT files of scikit-hep-testdata in __fixtures__/root/: entry counts, Z -> mu mu dimuon mass and muon pT histograms checked
 * against plain loops over the columns, compression variants, and partitioned == unpartitioned.
 */
import { describe, it, expect } from 'vitest'
import {
  readRootColumns,
  rootEntryCount,
  listRootTrees,
  countEvents,
  setRootCacheLimit,
  clearRootCache,
} from './io/index.ts'
import { planPartitions, splitEvenly } from './partition.ts'
import { preparePipeline, mergePipelineResults, runPartition, type HepStage, type PipelineResult } from './pipeline.ts'
import type { Hist1D } from './hist.ts'
import type { JaggedColumn } from './types.ts'
import { hepTestDataDir } from './testdata.ts'

/** in a destructuring default: fails the test when an expected result is missing */
const none = (): never => {
  throw new Error('an expected result is missing')
}

const DATA = hepTestDataDir()
const HZZ = `${DATA}/uproot-HZZ.root`
const HZZ_LZ4 = `${DATA}/uproot-HZZ-lz4.root`
const ZMUMU = `${DATA}/uproot-Zmumu.root`
const ZMUMU_ZSTD = `${DATA}/uproot-Zmumu-zstd.root`

// the dimuon system of the two leading muons, written in the expression language
const sum2 = (v: string) => `(leading(${v}) + subleading(${v}))`
const HZZ_STAGES: HepStage[] = [
  {
    id: 'vars',
    op: 'hep.define',
    params: {
      variables: {
        Muon_Pt: 'sqrt(Muon_Px ** 2 + Muon_Py ** 2)',
        Dimuon_M: `sqrt(${sum2('Muon_E')} ** 2 - ${sum2('Muon_Px')} ** 2 - ${sum2('Muon_Py')} ** 2 - ${sum2('Muon_Pz')} ** 2)`,
      },
    },
  },
  { id: 'twomuons', op: 'hep.select', params: { selection: 'NMuon >= 2', weight: 'EventWeight' } },
  {
    id: 'plots',
    op: 'hep.hist',
    params: {
      histograms: [
        {
          name: 'dimuon_mass',
          expr: 'Dimuon_M',
          bins: { n: 60, low: 60, high: 120 },
          weight: 'EventWeight',
          xlabel: 'm(μμ) [GeV]',
        },
        {
          name: 'muon_pt',
          expr: 'leading(Muon_Pt)',
          bins: { nbins: 50, low: 0, high: 200 },
          xlabel: 'leading muon pT [GeV]',
        },
        { name: 'all_muon_pt', expr: 'Muon_Pt', bins: { nbins: 50, low: 0, high: 200 } },
      ],
    },
  },
]

const ZMUMU_STAGES: HepStage[] = [
  {
    op: 'hep.define',
    params: { variables: { mass: 'sqrt((E1 + E2) ** 2 - (px1 + px2) ** 2 - (py1 + py2) ** 2 - (pz1 + pz2) ** 2)' } },
  },
  { op: 'hep.select', params: { selection: { all: ['Q1 * Q2 < 0', 'min(pt1, pt2) > 20'] } } },
  {
    op: 'hep.hist',
    params: {
      histograms: [
        { name: 'M', variable: 'M', bins: { n: 60, low: 60, high: 120 } },
        { name: 'mass', expr: 'mass', bins: { n: 60, low: 60, high: 120 } },
        { name: 'pt1', expr: 'pt1', bins: { n: 40, low: 0, high: 100 }, weight: 'abs(eta1) + 0.1' },
      ],
    },
  },
]

/** A plain regular-binning fill, written independently of hist.ts. */
function plainFill(values: number[], nbins: number, low: number, high: number): number[] {
  const counts = new Array(nbins + 2).fill(0)
  for (const v of values) {
    if (Number.isNaN(v)) continue
    let b: number
    if (v < low) b = 0
    else if (v >= high) b = nbins + 1
    else b = Math.min(nbins, 1 + Math.floor(((v - low) / (high - low)) * nbins))
    counts[b]++
  }
  return counts
}

const byName = (r: PipelineResult, name: string): Hist1D => {
  const h = r.histograms.find((x) => x.name === name)
  if (!h) throw new Error(`no histogram ${name}`)
  return h
}

async function runWhole(file: string, stages: HepStage[]): Promise<PipelineResult> {
  const p = preparePipeline(stages)
  const plan = await planPartitions([{ name: 'd', files: [file], treeName: 'events' }])
  expect(plan.partitions).toHaveLength(1)
  return runPartition(plan.partitions[0]!, p)
}

/** n partitions of one file, merged; each read with a cold column cache, or with none (cacheMb 0). */
async function runPartitioned(file: string, stages: HepStage[], n: number, cacheMb = 256): Promise<PipelineResult> {
  setRootCacheLimit(cacheMb)
  clearRootCache()
  const p = preparePipeline(stages)
  const entries = await countEvents(file, 'events')
  const plan = await planPartitions([{ name: 'd', files: [file], treeName: 'events' }], {
    chunkSize: Math.ceil(entries / n),
  })
  expect(plan.partitions).toHaveLength(n)
  try {
    const results = await Promise.all(plan.partitions.map((part) => runPartition(part, p)))
    return results.reduce(mergePipelineResults)
  } finally {
    setRootCacheLimit(256)
  }
}

describe('entry counts of the real files', () => {
  it('Zmumu has 2304 events, HZZ 2421', async () => {
    expect(await rootEntryCount(ZMUMU, 'events')).toBe(2304)
    expect(await rootEntryCount(ZMUMU_ZSTD, 'events')).toBe(2304)
    expect(await rootEntryCount(HZZ, 'events')).toBe(2421)
    expect(await rootEntryCount(HZZ_LZ4, 'events')).toBe(2421)
    expect(await listRootTrees(ZMUMU)).toEqual([
      { name: 'events', entries: 2304, title: 'Z -> mumu events', className: 'TTree' },
    ])
  })
})

describe('HZZ: dimuon mass and muon pT', () => {
  it('histogram entries equal the events with NMuon >= 2, bins equal a plain loop', async () => {
    const cols = await readRootColumns(HZZ, {
      tree: 'events',
      branches: ['NMuon', 'Muon_Px', 'Muon_Py', 'Muon_Pz', 'Muon_E', 'EventWeight'],
    })
    const nmu = cols.columns.NMuon as Int32Array
    const jagged = (k: string) => cols.columns[k] as JaggedColumn
    const [px, py, pz, e] = [jagged('Muon_Px'), jagged('Muon_Py'), jagged('Muon_Pz'), jagged('Muon_E')]
    // independent computation: plain loops over the columns
    let twoMuons = 0
    const masses: number[] = []
    const leadPt: number[] = []
    const allPt: number[] = []
    for (let i = 0; i < cols.length; i++) {
      const a = px.offsets[i]!
      expect(px.offsets[i + 1]! - a).toBe(nmu[i]) // the counter branch agrees with the jagged lengths
      if (nmu[i]! < 2) continue
      twoMuons++
      const E = e.values[a]! + e.values[a + 1]!
      const X = px.values[a]! + px.values[a + 1]!
      const Y = py.values[a]! + py.values[a + 1]!
      const Z = pz.values[a]! + pz.values[a + 1]!
      masses.push(Math.sqrt(E * E - X * X - Y * Y - Z * Z))
      leadPt.push(Math.sqrt(px.values[a]! ** 2 + py.values[a]! ** 2))
      for (let j = a; j < px.offsets[i + 1]!; j++) allPt.push(Math.sqrt(px.values[j]! ** 2 + py.values[j]! ** 2))
    }
    expect(twoMuons).toBe(1413)

    const r = await runWhole(HZZ, HZZ_STAGES)
    expect(r.events).toBe(2421)
    expect(r.selected).toBe(twoMuons)
    const mass = byName(r, 'dimuon_mass')
    const pt = byName(r, 'muon_pt')
    expect(mass.entries).toBe(twoMuons)
    expect(pt.entries).toBe(twoMuons)
    expect(mass.missing).toBe(0)
    expect(pt.missing).toBe(0)
    expect(byName(r, 'all_muon_pt').entries).toBe(allPt.length)
    // bin contents: the unweighted pT histogram equals the plain fill exactly
    expect(pt.sumw).toEqual(plainFill(leadPt, 50, 0, 200))
    expect(byName(r, 'all_muon_pt').sumw).toEqual(plainFill(allPt, 50, 0, 200))
    // the weighted mass histogram: same fills per bin (entries) and a Z peak
    const massCounts = plainFill(masses, 60, 60, 120)
    expect(massCounts.reduce((s, x) => s + x, 0)).toBe(mass.entries)
    const peak = mass.sumw.indexOf(Math.max(...mass.sumw.slice(1, 61)))
    const peakCentre = 60 + (peak - 0.5) * 1
    expect(peakCentre).toBeGreaterThan(88)
    expect(peakCentre).toBeLessThan(94)
    expect(massCounts.indexOf(Math.max(...massCounts.slice(1, 61)))).toBe(peak)
    // cutflow of the selection
    const cf = r.cutflows.twomuons ?? none()
    expect(cf.rows.map((x) => [x.name, x.passed])).toEqual([
      ['all events', 2421],
      ['NMuon >= 2', twoMuons],
    ])
    const w = cols.columns.EventWeight as Float32Array
    let sw = 0
    for (let i = 0; i < cols.length; i++) if (nmu[i]! >= 2) sw += w[i]!
    expect(cf.rows[1]!.sumw).toBeCloseTo(sw, 9)
    expect(mass.sumw.reduce((s, x) => s + x, 0)).toBeCloseTo(sw, 9)
  })

  it('the lz4 file gives identical columns and histograms', async () => {
    clearRootCache()
    const a = await readRootColumns(HZZ, { tree: 'events' })
    const b = await readRootColumns(HZZ_LZ4, { tree: 'events' })
    expect(Object.keys(a.columns).length).toBeGreaterThan(40)
    expect(b).toEqual(a)
    expect(await runWhole(HZZ_LZ4, HZZ_STAGES)).toEqual(await runWhole(HZZ, HZZ_STAGES))
  })

  it('4 partitions merged == unpartitioned, exactly', async () => {
    const whole = await runWhole(HZZ, HZZ_STAGES)
    expect(await runPartitioned(HZZ, HZZ_STAGES, 4)).toEqual(whole)
    expect(await runPartitioned(HZZ, HZZ_STAGES, 4, 0)).toEqual(whole) // every partition decompresses on its own
    // also with uneven, odd ranges straight from the reader
    const p = preparePipeline(HZZ_STAGES)
    const cols = p.requiredColumns()
    const ranges = [
      [0, 1],
      [1, 777],
      [777, 778],
      [778, 2421],
    ]
    for (const mb of [0, 256]) {
      setRootCacheLimit(mb)
      clearRootCache()
      const rs = await Promise.all(
        ranges.map(([start, stop]) =>
          readRootColumns(HZZ, { tree: 'events', branches: cols, start, stop }).then((b) => p.run(b)),
        ),
      )
      expect(rs.reduce(mergePipelineResults)).toEqual(whole)
    }
    setRootCacheLimit(256)
  })
})

describe('Zmumu', () => {
  it('reads 2304 events; histogram of M and of the mass recomputed from the muons', async () => {
    const r = await runWhole(ZMUMU, ZMUMU_STAGES)
    expect(r.events).toBe(2304)
    const cols = await readRootColumns(ZMUMU, {
      tree: 'events',
      branches: ['M', 'Q1', 'Q2', 'pt1', 'pt2', 'E1', 'E2', 'px1', 'px2', 'py1', 'py2', 'pz1', 'pz2'],
    })
    const c = cols.columns as Record<
      'M' | 'Q1' | 'Q2' | 'pt1' | 'pt2' | 'E1' | 'E2' | 'px1' | 'px2' | 'py1' | 'py2' | 'pz1' | 'pz2',
      Float64Array
    >
    let sel = 0
    const ms: number[] = []
    const mass: number[] = []
    for (let i = 0; i < 2304; i++) {
      if (!(c.Q1[i]! * c.Q2[i]! < 0 && Math.min(c.pt1[i]!, c.pt2[i]!) > 20)) continue
      sel++
      ms.push(c.M[i]!)
      mass.push(
        Math.sqrt(
          (c.E1[i]! + c.E2[i]!) ** 2 -
            (c.px1[i]! + c.px2[i]!) ** 2 -
            (c.py1[i]! + c.py2[i]!) ** 2 -
            (c.pz1[i]! + c.pz2[i]!) ** 2,
        ),
      )
    }
    expect(r.selected).toBe(sel)
    expect(byName(r, 'M').entries).toBe(sel)
    expect(byName(r, 'M').sumw).toEqual(plainFill(ms, 60, 60, 120))
    expect(byName(r, 'mass').sumw).toEqual(plainFill(mass, 60, 60, 120))
    // the recomputed mass agrees with the stored one
    const diff = ms.map((m, i) => Math.abs(m - mass[i]!))
    expect(diff.filter((d) => d > 0.01).length).toBeLessThan(sel * 0.01)
    expect(r.cutflows['hep.select#1']!.rows.map((x) => x.name)).toEqual([
      'all events',
      'Q1 * Q2 < 0',
      'min(pt1, pt2) > 20',
    ])
  })

  it('the zstd file gives identical columns and histograms', async () => {
    const a = await readRootColumns(ZMUMU, { tree: 'events' })
    const b = await readRootColumns(ZMUMU_ZSTD, { tree: 'events' })
    expect(a.length).toBe(2304)
    expect((a.columns.Type as string[]).slice(0, 3)).toEqual(['GT', 'TT', 'GT'])
    expect(b).toEqual(a)
    expect(await runWhole(ZMUMU_ZSTD, ZMUMU_STAGES)).toEqual(await runWhole(ZMUMU, ZMUMU_STAGES))
  })

  it('4 partitions merged == unpartitioned, exactly (weighted too)', async () => {
    const whole = await runWhole(ZMUMU, ZMUMU_STAGES)
    expect(await runPartitioned(ZMUMU, ZMUMU_STAGES, 4)).toEqual(whole)
    expect(await runPartitioned(ZMUMU, ZMUMU_STAGES, 4, 0)).toEqual(whole)
    expect(await runPartitioned(ZMUMU_ZSTD, ZMUMU_STAGES, 4)).toEqual(whole)
    expect(await runPartitioned(ZMUMU_ZSTD, ZMUMU_STAGES, 4, 0)).toEqual(whole)
    // and 7 uneven partitions
    expect(splitEvenly(2304, 7)).toHaveLength(7)
    expect(await runPartitioned(ZMUMU, ZMUMU_STAGES, 7)).toEqual(whole)
  })
})
