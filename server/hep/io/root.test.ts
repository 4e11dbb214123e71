import { describe, it, expect, vi, afterEach, afterAll } from 'vitest'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  clearRootCache,
  listRootBranches,
  listRootTrees,
  readRootColumns,
  rootCacheStats,
  rootEntryCount,
  setRootCacheLimit,
  RootIoError,
} from './root.ts'
import { readEvents, countEvents, defaultTreeName, fileFormat } from './index.ts'
import { sliceBatch, concatBatches } from '../types.ts'
import { hepTestDataDir } from '../testdata.ts'

const DATA = hepTestDataDir()
const HZZ = `${DATA}/uproot-HZZ.root`
const ZMUMU = `${DATA}/uproot-Zmumu.root`
const SIMPLE = `${DATA}/uproot-simple.root`

afterEach(() => vi.restoreAllMocks())
afterAll(() => setRootCacheLimit(256))

async function rootError(p: Promise<unknown>): Promise<RootIoError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(RootIoError)
    expect((e as Error).message.length).toBeLessThan(400)
    return e as RootIoError
  }
  throw new Error('no error')
}

describe('listing', () => {
  it('lists trees with entry counts and branches with kinds', async () => {
    expect(await listRootTrees(SIMPLE)).toEqual([{ name: 'tree', entries: 4, title: 'fake data', className: 'TTree' }])
    const b = await listRootBranches(HZZ, 'events')
    expect(b).toHaveLength(51)
    const get = (n: string) => b.find((x) => x.name === n)
    expect(get('NMuon')).toMatchObject({ kind: 'flat', type: 'Int_t' })
    expect(get('Muon_Px')).toMatchObject({ kind: 'jagged', type: 'Float_t', counter: 'NMuon' })
    expect(get('Jet_ID')).toMatchObject({ kind: 'jagged', type: 'Bool_t', counter: 'NJet' })
    expect(get('EventWeight')).toMatchObject({ kind: 'flat', type: 'Float_t' })
    expect(get('triggerIsoMu24')).toMatchObject({ kind: 'flat', type: 'Bool_t' })
    const z = await listRootBranches(ZMUMU, 'events')
    expect(z.find((x) => x.name === 'Type')).toMatchObject({ kind: 'string' })
    expect(z.find((x) => x.name === 'M')).toMatchObject({ kind: 'flat', type: 'Double_t' })
    expect(await defaultTreeName(SIMPLE)).toBe('tree')
    expect(await countEvents(SIMPLE)).toBe(4)
    expect(fileFormat('a/b.ROOT')).toBe('root')
  })
})

describe('reading columns', () => {
  it('reads flat, string and counted-array branches', async () => {
    const s = await readRootColumns(SIMPLE, { tree: 'tree' })
    expect(s.length).toBe(4)
    expect(Array.from(s.columns.one as Int32Array)).toEqual([1, 2, 3, 4])
    expect(Array.from(s.columns.two as Float32Array)).toEqual([1.1, 2.2, 3.3, 4.4].map(Math.fround))
    expect(s.columns.three).toEqual(['uno', 'dos', 'tres', 'quatro'])
    const h = await readRootColumns(HZZ, {
      tree: 'events',
      branches: ['Muon_Px', 'NMuon', 'Muon_Py', 'Jet_ID'],
      start: 3,
      stop: 5,
    })
    expect(Object.keys(h.columns).sort()).toEqual(['Jet_ID', 'Muon_Px', 'Muon_Py', 'NMuon'])
    expect(Array.from(h.columns.NMuon as Int32Array)).toEqual([2, 2])
    const px = h.columns.Muon_Px as { offsets: Int32Array; values: Float64Array }
    expect(Array.from(px.offsets)).toEqual([0, 2, 4])
    expect(Array.from(px.values)).toEqual([22.08833122253418, 76.6919174194336, 45.171321868896484, 39.75095748901367])
    // arrays of the same counter share their offsets
    expect((h.columns.Muon_Py as { offsets: Int32Array }).offsets).toBe(px.offsets)
    expect(Array.from((h.columns.Jet_ID as { values: Float64Array }).values)).toEqual([1, 1, 1, 1, 1])
  })

  it.each([
    ['without the column cache', 0],
    ['with the column cache', 256],
  ])('entry ranges are consistent with one full read (%s)', async (_label, mb) => {
    setRootCacheLimit(mb)
    clearRootCache()
    const branches = ['NMuon', 'Muon_E', 'EventWeight', 'MET_px']
    const full = await readRootColumns(HZZ, { tree: 'events', branches })
    expect(full.length).toBe(2421)
    const cuts = [0, 1, 500, 1211, 1212, 2420, 2421]
    const parts = await Promise.all(
      cuts.slice(1).map((stop, i) => readRootColumns(HZZ, { tree: 'events', branches, start: cuts[i], stop })),
    )
    expect(concatBatches(parts)).toEqual(full)
    expect(parts[3]).toEqual(sliceBatch(full, 1211, 1212))
    const empty = await readRootColumns(HZZ, { tree: 'events', branches, start: 7, stop: 7 })
    expect(empty.length).toBe(0)
    expect((empty.columns.Muon_E as { offsets: Int32Array }).offsets).toHaveLength(1)
    const clamped = await readRootColumns(HZZ, { tree: 'events', branches, start: 2400, stop: 99999 })
    expect(clamped).toEqual(sliceBatch(full, 2400, 2421))
  })

  it("jsroot's array fast path and the per-entry path agree", async () => {
    // only flat numbers: whole baskets at once; with a string branch: entry by entry
    const fast = await readRootColumns(ZMUMU, {
      tree: 'events',
      branches: ['M', 'px1', 'Run', 'Q1'],
      start: 10,
      stop: 2000,
    })
    const slow = await readRootColumns(ZMUMU, {
      tree: 'events',
      branches: ['M', 'px1', 'Run', 'Q1', 'Type'],
      start: 10,
      stop: 2000,
    })
    for (const k of ['M', 'px1', 'Run', 'Q1']) expect(fast.columns[k]).toEqual(slow.columns[k])
    expect(fast.columns.Run).toBeInstanceOf(Int32Array)
    expect(fast.length).toBe(1990)
  })

  it('readEvents reads ROOT by extension with the default tree', async () => {
    const b = await readEvents(ZMUMU, { columns: ['M'], start: 0, stop: 3 })
    expect(Array.from(b.columns.M as Float64Array)).toEqual([82.4626915551, 83.6262040052, 83.3084646667])
  })
})

describe('clean errors', () => {
  it('missing file, tree, branch; not ROOT; directory', async () => {
    const spies = [vi.spyOn(console, 'log'), vi.spyOn(console, 'error'), vi.spyOn(console, 'warn')]
    expect((await rootError(readRootColumns(`${DATA}/nope.root`, { tree: 'events' }))).message).toBe(
      `cannot open ${DATA}/nope.root: no such file`,
    )
    const t = await rootError(readRootColumns(HZZ, { tree: 'event' }))
    expect(t.message).toBe("tree 'event' not found in uproot-HZZ.root; trees: events")
    expect(t.hint).toBe("did you mean 'events'?")
    const b = await rootError(readRootColumns(HZZ, { tree: 'events', branches: ['NMuon', 'Muon_Pt'] }))
    expect(b.message).toBe("branch 'Muon_Pt' not found in tree 'events' of uproot-HZZ.root; did you mean 'Muon_Px'?")
    expect((await rootError(readRootColumns(`${DATA}/LICENSE`, { tree: 'events' }))).message).toMatch(
      /^cannot open .*LICENSE: /,
    )
    expect((await rootError(readRootColumns(DATA, { tree: 'events' }))).message).toMatch(/it is a directory/)
    expect((await rootError(rootEntryCount(SIMPLE, 'events'))).message).toBe(
      "tree 'events' not found in uproot-simple.root; trees: tree",
    )
    for (const s of spies) expect(s).not.toHaveBeenCalled()
  })
})

describe('column cache', () => {
  it('serves later partitions from basket-aligned reads and notices changed files', async () => {
    setRootCacheLimit(256)
    clearRootCache()
    const dir = await mkdtemp(join(tmpdir(), 'hep-root-'))
    try {
      const f = join(dir, 'data.root')
      await copyFile(HZZ, f)
      const a = await readRootColumns(f, { tree: 'events', branches: ['NMuon', 'Muon_Px'], start: 0, stop: 100 })
      const st = rootCacheStats()
      expect(st.entries).toBe(2)
      // the cached range covers the baskets: a later partition needs no new entry
      const b = await readRootColumns(f, { tree: 'events', branches: ['NMuon', 'Muon_Px'], start: 100, stop: 200 })
      expect(rootCacheStats().entries).toBe(st.entries)
      setRootCacheLimit(0)
      const ref = await readRootColumns(f, { tree: 'events', branches: ['NMuon', 'Muon_Px'], start: 0, stop: 200 })
      setRootCacheLimit(256)
      expect({
        length: 200,
        columns: { NMuon: Int32Array.from([...(a.columns.NMuon as Int32Array), ...(b.columns.NMuon as Int32Array)]) },
      }).toEqual({ length: 200, columns: { NMuon: ref.columns.NMuon } })
      // callers get copies: modifying a result does not change the cache
      ;(a.columns.NMuon as Int32Array)[0] = 99
      const again = await readRootColumns(f, { tree: 'events', branches: ['NMuon'], start: 0, stop: 100 })
      expect((again.columns.NMuon as Int32Array)[0]).not.toBe(99)
      // replacing the file invalidates what was cached for it
      await copyFile(ZMUMU, f)
      const e = await rootError(readRootColumns(f, { tree: 'events', branches: ['NMuon'] }))
      expect(e.message).toContain("branch 'NMuon' not found")
      expect((await readRootColumns(f, { tree: 'events', branches: ['M'] })).length).toBe(2304)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
