/**
 * hep.hist throughput on uproot-Zmumu.root (2304 events): one task over the whole file vs the same
 * work as 4 partitions (read + define + hist per partition, then an exact merge), in this process.
 * Also the in-memory compute rate (columns already read) to separate I/O from the expression engine.
 *
 * Every timed run starts with an empty column cache. With the cache (the default), the partitions of
 * one file in one process share the decompressed baskets; with it off, each partition decompresses
 * its baskets itself, as separate worker processes would.
 *
 *   import { benchHep } from './hep.bench.ts'; (await benchHep()).forEach((l) => console.log(l))
 *
 * HEP_BENCH_FILE overrides the input file (a .root with tree 'events' and Zmumu's branches).
 */
import { isDeepStrictEqual } from 'node:util'
import { planPartitions } from '../server/hep/partition.ts'
import {
  preparePipeline,
  runPartition,
  mergePipelineResults,
  type HepStage,
  type PipelineResult,
} from '../server/hep/pipeline.ts'
import { hepTestDataDir } from '../server/hep/testdata.ts'
import { readRootColumns, clearRootCache, setRootCacheLimit, rootCacheStats } from '../server/hep/io/root.ts'

const FILE = process.env.HEP_BENCH_FILE ?? `${hepTestDataDir()}/uproot-Zmumu.root`

const STAGES: HepStage[] = [
  {
    op: 'hep.define',
    params: { variables: { mass: 'sqrt((E1 + E2) ** 2 - (px1 + px2) ** 2 - (py1 + py2) ** 2 - (pz1 + pz2) ** 2)' } },
  },
  {
    op: 'hep.hist',
    params: {
      histograms: [
        { name: 'M', variable: 'M', bins: { n: 60, low: 60, high: 120 } },
        { name: 'mass', expr: 'mass', bins: { n: 60, low: 60, high: 120 } },
        { name: 'pt1', expr: 'pt1', bins: { n: 50, low: 0, high: 100 }, weight: 'abs(eta1) + 0.5' },
        { name: 'pt', expr: 'max(pt1, pt2)', bins: { n: 50, low: 0, high: 100 } },
      ],
    },
  },
]

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')

export async function benchHep(): Promise<string[]> {
  const pipeline = preparePipeline(STAGES)
  const single = await planPartitions([{ name: 'zmumu', files: [FILE], treeName: 'events' }])
  const events = single.datasets[0].events
  const four = await planPartitions([{ name: 'zmumu', files: [FILE], treeName: 'events' }], {
    chunkSize: Math.ceil(events / 4),
  })

  const runSingle = () => runPartition(single.partitions[0], pipeline)
  const runFour = async () => {
    let acc: PipelineResult | null = null
    for (const p of four.partitions) {
      const r = await runPartition(p, pipeline)
      acc = acc ? mergePipelineResults(acc, r) : r
    }
    return acc!
  }
  const runFourConcurrent = async () =>
    (await Promise.all(four.partitions.map((p) => runPartition(p, pipeline)))).reduce(mergePipelineResults)

  const limit = rootCacheStats().limit / (1024 * 1024)
  const cold = async <T>(f: () => Promise<T>): Promise<[number, T]> => {
    clearRootCache()
    const t = performance.now()
    const r = await f()
    return [performance.now() - t, r]
  }

  // warm up (JIT, OS file cache) and check that partitioning does not change the result
  const ref = await runSingle()
  let identical = true
  for (const mb of [limit, 0]) {
    setRootCacheLimit(mb)
    clearRootCache()
    identical &&= isDeepStrictEqual(await runFour(), ref) && isDeepStrictEqual(await runFourConcurrent(), ref)
  }
  setRootCacheLimit(limit)
  for (let i = 0; i < 3; i++) {
    await cold(runSingle)
    await cold(runFour)
  }

  const reps = Number(process.env.HEP_BENCH_REPS ?? 15)
  const t1: number[] = []
  const t4: number[] = []
  const t4c: number[] = []
  const t4n: number[] = []
  for (let i = 0; i < reps; i++) {
    t1.push((await cold(runSingle))[0])
    t4.push((await cold(runFour))[0])
    t4c.push((await cold(runFourConcurrent))[0])
    setRootCacheLimit(0)
    t4n.push((await cold(runFour))[0])
    setRootCacheLimit(limit)
  }

  // compute only: the columns are in memory
  const batch = await readRootColumns(FILE, { tree: 'events', branches: pipeline.requiredColumns() })
  const tc: number[] = []
  for (let i = 0; i < 3; i++) pipeline.run(batch)
  for (let i = 0; i < reps * 4; i++) {
    const t = performance.now()
    pipeline.run(batch)
    tc.push(performance.now() - t)
  }

  const rate = (ms: number) => events / (ms / 1000)
  const r1 = rate(median(t1))
  const line = (label: string, ts: number[]) => {
    const r = rate(median(ts))
    return `  ${label.padEnd(34)} ${fmt(r).padStart(9)} events/s (${median(ts).toFixed(2)} ms)  ratio 4p/1 = ${(r / r1).toFixed(2)}`
  }
  return [
    `hep.hist Zmumu (${FILE.split('/').pop()}): ${events} events, ${ref.histograms.length} histograms, median of ${reps} runs, read + define + hist`,
    `  ${'single task'.padEnd(34)} ${fmt(r1).padStart(9)} events/s (${median(t1).toFixed(2)} ms)`,
    line('4 partitions, one after another', t4),
    line('4 partitions, concurrently', t4c),
    line('4 partitions, column cache off', t4n),
    `  compute only (columns in memory):  ${fmt(rate(median(tc))).padStart(9)} events/s`,
    `  merged 4-partition results identical to the single task: ${identical ? 'yes' : 'NO'}`,
  ]
}

// run directly: npx tsx bench/hep.bench.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  benchHep().then((lines) => lines.forEach((l) => console.log(l)))
}
