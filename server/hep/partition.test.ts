import { describe, it, expect } from 'vitest'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expandFiles, planPartitions, splitEvenly, splitRange } from './partition.ts'
import { writeZmumuParquet } from './generate.ts'
import { HepError } from './types.ts'
import { hepTestDataDir } from './testdata.ts'

const DATA = hepTestDataDir()

describe('ranges', () => {
  it('splitRange and splitEvenly', () => {
    expect(splitRange(2304, 1000)).toEqual([
      [0, 1000],
      [1000, 2000],
      [2000, 2304],
    ])
    expect(splitRange(10)).toEqual([[0, 10]])
    expect(splitRange(0, 5)).toEqual([])
    expect(splitEvenly(10, 4)).toEqual([
      [0, 3],
      [3, 6],
      [6, 8],
      [8, 10],
    ])
    expect(splitEvenly(2, 4)).toEqual([
      [0, 1],
      [1, 2],
    ])
  })
})

describe('globs', () => {
  it('expands patterns against real files', async () => {
    expect(await expandFiles([`${DATA}/uproot-Zmumu*.root`])).toEqual([
      `${DATA}/uproot-Zmumu-zstd.root`,
      `${DATA}/uproot-Zmumu.root`,
    ])
    expect(await expandFiles(['uproot-{simple,HZZ}.root'], DATA)).toEqual([
      `${DATA}/uproot-HZZ.root`,
      `${DATA}/uproot-simple.root`,
    ]) // sorted within a pattern;
    expect(await expandFiles(['uproot-HZZ?lz4.root', 'uproot-HZZ-lz4.root'], DATA)).toEqual([
      `${DATA}/uproot-HZZ-lz4.root`,
    ])
    expect((await expandFiles([`${DATA}/../**/*.root`])).length).toBe(5)
    expect(await expandFiles(['uproot-[HZ]*.root'], DATA)).toHaveLength(4)
    await expect(expandFiles(['*.parquet'], DATA)).rejects.toThrow("no files match '*.parquet'")
    await expect(expandFiles(['nope.root'], DATA)).rejects.toThrow('file not found: nope.root')
  })
})

describe('planPartitions', () => {
  it('splits real ROOT files into chunks and caps nevents', async () => {
    const plan = await planPartitions(
      [
        { name: 'zmumu', files: ['uproot-Zmumu.root', 'uproot-Zmumu-zstd.root'], nevents: 3000 },
        { name: 'hzz', files: ['uproot-HZZ.root'], treeName: 'events' },
      ],
      { chunkSize: 1000, baseDir: DATA },
    )
    expect(
      plan.partitions.map((p) => [p.dataset, p.file.split('/').pop(), p.treeName, p.start, p.stop, p.index]),
    ).toEqual([
      ['zmumu', 'uproot-Zmumu.root', 'events', 0, 1000, 0],
      ['zmumu', 'uproot-Zmumu.root', 'events', 1000, 2000, 1],
      ['zmumu', 'uproot-Zmumu.root', 'events', 2000, 2304, 2],
      ['zmumu', 'uproot-Zmumu-zstd.root', 'events', 0, 696, 3],
      ['hzz', 'uproot-HZZ.root', 'events', 0, 1000, 0],
      ['hzz', 'uproot-HZZ.root', 'events', 1000, 2000, 1],
      ['hzz', 'uproot-HZZ.root', 'events', 2000, 2421, 2],
    ])
    expect(plan.datasets).toEqual([
      {
        name: 'zmumu',
        files: [
          { path: `${DATA}/uproot-Zmumu.root`, entries: 2304, used: 2304 },
          { path: `${DATA}/uproot-Zmumu-zstd.root`, entries: 2304, used: 696 },
        ],
        events: 3000,
        partitions: 4,
      },
      {
        name: 'hzz',
        files: [{ path: `${DATA}/uproot-HZZ.root`, entries: 2421, used: 2421 }],
        events: 2421,
        partitions: 3,
      },
    ])
  })

  it('handles Parquet files and injected entry counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hep-part-'))
    try {
      await mkdir(join(dir, 'a'))
      await writeZmumuParquet(join(dir, 'a', 'z1.parquet'), { events: 120, seed: 1 })
      await writeZmumuParquet(join(dir, 'a', 'z2.parquet'), { events: 80, seed: 2 })
      await writeFile(join(dir, 'a', 'notes.txt'), 'x')
      const plan = await planPartitions([{ name: 'gen', files: ['a/*.parquet'] }], { chunkSize: 50, baseDir: dir })
      expect(plan.partitions.map((p) => [p.file.split('/').pop(), p.format, p.treeName, p.start, p.stop])).toEqual([
        ['z1.parquet', 'parquet', null, 0, 50],
        ['z1.parquet', 'parquet', null, 50, 100],
        ['z1.parquet', 'parquet', null, 100, 120],
        ['z2.parquet', 'parquet', null, 0, 50],
        ['z2.parquet', 'parquet', null, 50, 80],
      ])
      // nevents across Parquet files
      const capped = await planPartitions([{ name: 'gen', files: ['a/z?.parquet'], nevents: 130 }], { baseDir: dir })
      expect(capped.partitions.map((p) => [p.start, p.stop])).toEqual([
        [0, 120],
        [0, 10],
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('uses countEntries when given and validates its input', async () => {
    const plan = await planPartitions([{ name: 'x', files: [`${DATA}/uproot-HZZ.root`], treeName: 'events' }], {
      chunkSize: 4,
      countEntries: async () => 10,
    })
    expect(plan.partitions.map((p) => [p.start, p.stop])).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ])
    await expect(planPartitions([{ name: 'x', files: [] }])).rejects.toThrow(HepError)
    await expect(
      planPartitions(
        [
          { name: 'x', files: ['a'] },
          { name: 'x', files: ['b'] },
        ],
        { baseDir: DATA },
      ),
    ).rejects.toThrow(/file not found|duplicate/)
    await expect(planPartitions([{ name: 'x', files: [`${DATA}/uproot-HZZ.root`] }], { chunkSize: 0 })).rejects.toThrow(
      /chunkSize/,
    )
    await expect(planPartitions([{ name: 'x', files: [`${DATA}/LICENSE`] }])).rejects.toThrow(/\.root or \.parquet/)
  })
})
