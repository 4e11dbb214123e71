import { describe, it, expect } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  batchToParquet,
  listParquetColumns,
  parquetRowCount,
  readParquetColumns,
  writeParquetColumns,
  ParquetIoError,
} from './parquet.ts'
import { readRootColumns } from './root.ts'
import { readEvents, countEvents } from './index.ts'
import { sliceBatch, type Column, type EventBatch } from '../types.ts'
import { hepTestDataDir } from '../testdata.ts'

const DATA = hepTestDataDir()

function sample(n: number): EventBatch {
  const off = new Int32Array(n + 1)
  const vals: number[] = []
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < (i * 7) % 5; j++) vals.push(i + j / 8)
    off[i + 1] = vals.length
  }
  return {
    length: n,
    columns: {
      x: Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3),
      f: Float32Array.from({ length: n }, (_, i) => i / 3),
      n: Int32Array.from({ length: n }, (_, i) => (i % 9) - 4),
      mu: { offsets: off, values: Float64Array.from(vals) },
      s: Array.from({ length: n }, (_, i) => `ev${i}`),
    },
  }
}

describe('Parquet', () => {
  it('round-trips flat, jagged and string columns through a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hep-pq-'))
    try {
      const b = sample(2500)
      const path = join(dir, 'events.parquet')
      await writeParquetColumns(path, b, { rowGroupSize: 1000 })
      expect(await parquetRowCount(path)).toBe(2500)
      expect(await countEvents(path)).toBe(2500)
      expect(await listParquetColumns(path)).toEqual([
        { name: 'x', kind: 'flat', type: 'DOUBLE' },
        { name: 'f', kind: 'flat', type: 'FLOAT' },
        { name: 'n', kind: 'flat', type: 'INT32' },
        { name: 'mu', kind: 'jagged', type: 'DOUBLE' },
        { name: 's', kind: 'string', type: 'BYTE_ARRAY' },
      ])
      expect(await readParquetColumns(path)).toEqual(b)
      // row ranges across row-group boundaries
      for (const [s, e] of [[0, 1] as const, [998, 1003], [999, 2001], [2400, 2500], [7, 7]]) {
        expect(await readParquetColumns(path, { start: s, stop: e })).toEqual(sliceBatch(b, s, e))
      }
      const some = await readEvents(path, { columns: ['mu', 'n'], start: 10, stop: 20 })
      expect(Object.keys(some.columns)).toEqual(['mu', 'n'])
      expect(some).toEqual(
        sliceBatch({ length: 2500, columns: { mu: b.columns.mu as Column, n: b.columns.n as Column } }, 10, 20),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('round-trips a real ROOT tree (HZZ) exactly', async () => {
    const root = await readRootColumns(`${DATA}/uproot-HZZ.root`, {
      tree: 'events',
      branches: ['NMuon', 'Muon_Px', 'Muon_Charge', 'EventWeight', 'MET_px'],
    })
    const back = await readParquetColumns(batchToParquet(root))
    expect(back).toEqual(root)
  })

  it('errors: missing column with did-you-mean, not Parquet, missing file', async () => {
    const buf = batchToParquet(sample(10))
    await expect(readParquetColumns(buf, { columns: ['mus'] })).rejects.toThrow(
      "column 'mus' not found in (buffer); did you mean 'mu'?",
    )
    const dir = await mkdtemp(join(tmpdir(), 'hep-pq-'))
    try {
      const junk = join(dir, 'junk.parquet')
      await writeFile(junk, 'not parquet at all')
      await expect(readParquetColumns(junk)).rejects.toBeInstanceOf(ParquetIoError)
      await expect(readParquetColumns(join(dir, 'none.parquet'))).rejects.toThrow(/no such file/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
