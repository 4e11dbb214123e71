/**
 * Partial results while a stage runs, on the real Zmumu file in 4 partitions: after each finished
 * partition the merged result says how many it includes and counts exactly their events; with all
 * of them it is bit-identical to one unpartitioned pass. Also the UHI JSON and the PNG of a plot.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { forgetPartialResults, readPartialResult } from './partial.ts'
import { planPartitions } from './partition.ts'
import { type HepStage, preparePipeline, runPartition } from './pipeline.ts'
import { svgToPng } from './png.ts'
import { renderHistogramSvg } from './render.ts'
import { hepTestDataDir } from './testdata.ts'
import { histogramToUhi } from './uhi.ts'

const FILE = path.join(hepTestDataDir(), 'uproot-Zmumu.root')
const STAGES: HepStage[] = [
  { id: 'sel', op: 'hep.select', params: { selection: { all: ['Q1 * Q2 < 0', 'pt1 > 20'] } } },
  {
    id: 'h',
    op: 'hep.hist',
    params: {
      histograms: [{ name: 'M', variable: 'M', bins: { n: 60, low: 60, high: 120 }, weight: 'abs(eta1) + 0.1' }],
    },
  },
]
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('partial results', () => {
  it('grow partition by partition and end bit-identical to one pass', async () => {
    const pipeline = preparePipeline(STAGES)
    const whole = await planPartitions([{ name: 'z', files: [FILE], treeName: 'events' }])
    const ref = await runPartition(whole.partitions[0]!, pipeline)
    const four = await planPartitions([{ name: 'z', files: [FILE], treeName: 'events' }], { chunkSize: 576 })
    expect(four.partitions).toHaveLength(4)
    const dir = mkdtempSync(path.join(tmpdir(), 'hep-partial-'))
    dirs.push(dir)
    expect(readPartialResult(dir, 4)).toBeNull()
    // finish out of order: 2, 0, 3, 1
    const seen: number[] = []
    for (const i of [2, 0, 3, 1]) {
      const r = await runPartition(four.partitions[i]!, pipeline)
      writeFileSync(path.join(dir, `part-${i}.json`), JSON.stringify(r))
      seen.push(i)
      const p = readPartialResult(dir, 4)!
      expect(p.included).toBe(seen.length)
      expect(p.final).toBe(seen.length === 4)
      expect(p.events).toBe(576 * seen.length)
      expect(p.cutflows.sel!.rows[0]!.passed).toBe(576 * seen.length)
    }
    const final = readPartialResult(dir, 4)!
    expect(final.histograms).toEqual(ref.histograms)
    expect(final.cutflows).toEqual(ref.cutflows)
    // a fresh server (no cache) merges the same
    forgetPartialResults(path.dirname(dir))
    expect(readPartialResult(dir, 4)!.histograms).toEqual(ref.histograms)
  }, 60_000)

  it('writes the UHI JSON hist / boost-histogram read, and PNG plots', async () => {
    const pipeline = preparePipeline(STAGES)
    const whole = await planPartitions([{ name: 'z', files: [FILE], treeName: 'events' }])
    const h = (await runPartition(whole.partitions[0]!, pipeline)).histograms[0]!
    const u = histogramToUhi(h, { dataset: 'z' })
    expect(u.uhi_schema).toBe(1)
    expect(u.axes).toEqual([
      {
        type: 'regular',
        lower: 60,
        upper: 120,
        bins: 60,
        underflow: true,
        overflow: true,
        circular: false,
        metadata: { name: 'M', label: 'M' },
      },
    ])
    // flow bins included, as boost-histogram's view(flow=True)
    expect(u.storage.type).toBe('weighted')
    expect(u.storage.values).toHaveLength(62)
    expect(u.storage.values).toEqual(h.sumw)
    expect(u.storage.variances).toEqual(h.sumw2)
    expect(u.metadata).toMatchObject({ name: 'M', entries: h.entries, weight: 'abs(eta1) + 0.1', dataset: 'z' })

    const png = await svgToPng(renderHistogramSvg(h))
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    // 2x the SVG's 640 x 440
    expect(png.readUInt32BE(16)).toBe(1280)
    expect(png.readUInt32BE(20)).toBe(880)
  }, 60_000)
})
