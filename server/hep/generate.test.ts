import { describe, it, expect } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng, generateZmumu, writeZmumuParquet, zmumuParquetBuffer } from './generate.ts'
import { readParquetColumns } from './io/parquet.ts'
import { planPartitions } from './partition.ts'
import { preparePipeline, runPartition, mergePipelineResults } from './pipeline.ts'
import { validateBatch, type JaggedColumn } from './types.ts'

describe('seeded PRNG', () => {
  it('is reproducible and roughly uniform / normal', () => {
    const a = createRng(5)
    const b = createRng(5)
    const xs = Array.from({ length: 20000 }, () => a.uniform())
    expect(Array.from({ length: 20000 }, () => b.uniform())).toEqual(xs)
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01)
    const n = createRng(9)
    const ns = Array.from({ length: 20000 }, () => n.normal())
    const m = ns.reduce((s, x) => s + x, 0) / ns.length
    const v = ns.reduce((s, x) => s + (x - m) ** 2, 0) / ns.length
    expect(Math.abs(m)).toBeLessThan(0.03)
    expect(Math.abs(v - 1)).toBeLessThan(0.05)
    expect(createRng(6).uniform()).not.toBe(createRng(5).uniform())
  })
})

describe('synthetic Z -> mu mu', () => {
  it('is deterministic and well formed, with a Z peak', () => {
    const a = generateZmumu({ events: 5000, seed: 3 })
    expect(generateZmumu({ events: 5000, seed: 3 })).toEqual(a)
    expect(generateZmumu({ events: 5000, seed: 4 })).not.toEqual(a)
    validateBatch(a)
    const n = a.columns.NMuon as Int32Array
    const jagged = (k: string) => a.columns[k] as JaggedColumn
    const [px, py, pz, e] = [jagged('Muon_Px'), jagged('Muon_Py'), jagged('Muon_Pz'), jagged('Muon_E')]
    const masses: number[] = []
    for (let i = 0; i < a.length; i++) {
      const o = px.offsets[i]!
      expect(px.offsets[i + 1]! - o).toBe(n[i])
      // sorted by decreasing pT
      for (let j = o + 1; j < px.offsets[i + 1]!; j++)
        expect(Math.hypot(px.values[j]!, py.values[j]!)).toBeLessThanOrEqual(
          Math.hypot(px.values[j - 1]!, py.values[j - 1]!),
        )
      if (n[i]! >= 2) {
        const E = e.values[o]! + e.values[o + 1]!
        const p2 =
          (px.values[o]! + px.values[o + 1]!) ** 2 +
          (py.values[o]! + py.values[o + 1]!) ** 2 +
          (pz.values[o]! + pz.values[o + 1]!) ** 2
        masses.push(Math.sqrt(E * E - p2))
      }
    }
    expect(masses.length).toBeGreaterThan(0.6 * a.length)
    const nearZ = masses.filter((m) => m > 81 && m < 101).length
    expect(nearZ / masses.length).toBeGreaterThan(0.6)
  })

  it('writes Parquet that the HEP pipeline reads, partitioned or not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hep-gen-'))
    try {
      const path = join(dir, 'zmumu.parquet')
      expect(await writeZmumuParquet(path, { events: 3000, seed: 8, parquet: { rowGroupSize: 700 } })).toEqual({
        path,
        events: 3000,
      })
      const back = await readParquetColumns(path)
      expect(back).toEqual(generateZmumu({ events: 3000, seed: 8 }))
      expect(zmumuParquetBuffer({ events: 10, seed: 1 }).byteLength).toBeGreaterThan(100)
      const stages = [
        { op: 'hep.select' as const, params: { selection: 'NMuon >= 2' } },
        {
          op: 'hep.hist' as const,
          params: {
            histograms: [
              {
                name: 'mass',
                expr: 'sqrt((Muon_E[0] + Muon_E[1]) ** 2 - (Muon_Px[0] + Muon_Px[1]) ** 2 - (Muon_Py[0] + Muon_Py[1]) ** 2 - (Muon_Pz[0] + Muon_Pz[1]) ** 2)',
                bins: { n: 50, low: 40, high: 140 },
                weight: 'EventWeight',
              },
            ],
          },
        },
      ]
      const p = preparePipeline(stages)
      const one = await planPartitions([{ name: 'gen', files: [path] }])
      const four = await planPartitions([{ name: 'gen', files: [path] }], { chunkSize: 750 })
      expect(four.partitions).toHaveLength(4)
      const whole = await runPartition(one.partitions[0]!, p)
      const merged = (await Promise.all(four.partitions.map((x) => runPartition(x, p)))).reduce(mergePipelineResults)
      expect(merged).toEqual(whole)
      expect(whole.histograms[0]!.entries).toBe(whole.selected)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
