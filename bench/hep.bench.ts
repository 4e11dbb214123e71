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
import { must } from '../server/must.ts'
import { readRootColumns, clearRootCache, setRootCacheLimit, rootCacheStats } from '../server/hep/io/root.ts'
import { loadAverage, median } from './lib/stats.ts'

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

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')

export async function benchHep(): Promise<string[]> {
  const pipeline = preparePipeline(STAGES)
  const single = await planPartitions([{ name: 'zmumu', files: [FILE], treeName: 'events' }])
  const events = must(single.datasets[0], 'the zmumu dataset').events
  const four = await planPartitions([{ name: 'zmumu', files: [FILE], treeName: 'events' }], {
    chunkSize: Math.ceil(events / 4),
  })

  const onlyPartition = must(single.partitions[0], 'the partition of the whole file')
  const runSingle = () => runPartition(onlyPartition, pipeline)
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

// ------------------------------------------------------------------ partitions through the engine

/**
 * A hep.hist stage over the Zmumu ROOT file as 1 partition and as 32 partitions (chunks of 72 events),
 * one pool of 2 workers, through the real engine (SQLite, local backend): overhead per extra
 * partition = (wall(32) - wall(1)) / 31. The ways to run a partition:
 *  - engine, hep_runtime: process: the task runtime starts `node hep-task.mjs` (built ahead of time,
 *    no tsx) per partition,
 *  - engine, hep_runtime: module: module tasks, run by the local backend's warm executors (where the
 *    engine has them; else it says the partitions ran as processes),
 *  - in-process floor: the built runtime imported once here and called per partition (what a warm
 *    executor does; here in this process, one partition at a time, without an executor's dispatch
 *    or the engine: the floor a warm executor can reach), with and without the column cache,
 * beside jsroot's own figure in the same run: opening the file and reading one partition's columns.
 * Target (issue 12): <= 100 ms per extra partition.
 */
export async function benchHepPartitions(): Promise<string[]> {
  const { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const os = await import('node:os')
  const path = await import('node:path')
  const { pathToFileURL } = await import('node:url')
  const { setupEngineTest } = await import('../server/execution/testing.ts')
  const { startRun, listTasks } = await import('../server/execution/runs.ts')
  const { hepTaskScript, ensureHepTaskScript } = await import('../server/execution/ops/hep.ts')
  await ensureHepTaskScript()
  const reps = Number(process.env.HEP_BENCH_ENGINE_REPS ?? 2)
  const yaml = (chunk: number | null, name: string, runtime: 'process' | 'module') => `version: 1
name: ${name}
execution:
  config:
    workers: 2
    hep_runtime: ${runtime}
${chunk ? `    chunk_size: ${chunk}\n` : ''}data:
  datasets:
    - { name: zmumu, files: ['${FILE}'], treeName: events }
analysis:
  stages:
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: M, variable: M, bins: { n: 60, low: 60, high: 120 } }
          - { name: pt, expr: 'max(pt1, pt2)', bins: { n: 50, low: 0, high: 100 } }
`
  const env = await setupEngineTest({})
  const lines: string[] = []
  try {
    const run = async (chunk: number | null, name: string, runtime: 'process' | 'module') => {
      const t = performance.now()
      const { runId } = await startRun({ versionId: await env.save(yaml(chunk, name, runtime)) }, env.engine)
      const state = await env.waitFor(runId, 600_000)
      const ms = performance.now() - t
      if (state !== 'succeeded') throw new Error(`bench run ${name} ${state}`)
      const { items } = await listTasks(env.t.db, { runId, limit: 100 })
      const runDir = (await env.t.db.run.findUnique({ where: { id: runId } }))!.runDir!
      const hepMs = items.map((x) => Number((x.metrics as { hepMs?: number } | null)?.hepMs ?? 0))
      // did the engine run module tasks (TaskSpec.module), or the command?
      const spec = JSON.parse(readFileSync(path.join(runDir, 'tasks', items[0]!.id, 'spec.json'), 'utf8')) as {
        module?: unknown
      }
      return { ms, runDir, n: items.length, hepMs: hepMs.reduce((a, b) => a + b, 0), asModule: !!spec.module }
    }
    const engineFigures = async (runtime: 'process' | 'module') => {
      // warm-up (OS cache, the engine's first run, the executors' start)
      await run(null, `hep-bench-warmup-${runtime}`, runtime)
      const t1: number[] = []
      const t32: number[] = []
      let dirs = { one: '', many: '' }
      let hep32 = 0
      let asModule = false
      for (let i = 0; i < reps; i++) {
        const a = await run(null, `hep-bench-1-${runtime}-${i}`, runtime)
        const b = await run(72, `hep-bench-32-${runtime}-${i}`, runtime)
        if (b.n !== 32) throw new Error(`expected 32 partitions, got ${b.n}`)
        t1.push(a.ms)
        t32.push(b.ms)
        hep32 = b.hepMs
        asModule = b.asModule
        dirs = { one: a.runDir, many: b.runDir }
      }
      return { t1: median(t1), t32: median(t32), perExtra: (median(t32) - median(t1)) / 31, hep32, dirs, asModule }
    }
    const proc = await engineFigures('process')
    const warm = await engineFigures('module')
    const dirs = proc.dirs

    // module calls in this process, on copies of the same run directories
    const mod = (await import(
      pathToFileURL(hepTaskScript()).href
    )) as typeof import('../server/execution/runtime/hep-task.ts')
    const moduleRun = async (src: string, n: number, cacheMb = 256) => {
      // each run starts with an empty column cache; its partitions share it unless cacheMb is 0
      mod.setRootCacheLimit(cacheMb)
      mod.clearRootCache()
      const dir = mkdtempSync(path.join(os.tmpdir(), 'hep-bench-mod-'))
      try {
        cpSync(path.join(src, 'plan.json'), path.join(dir, 'plan.json'))
        mkdirSync(path.join(dir, 'hep'))
        cpSync(path.join(src, 'hep', 'partitions.json'), path.join(dir, 'hep', 'partitions.json'))
        const t = performance.now()
        for (let i = 0; i < n; i++)
          await mod.runHepTask({ runDir: dir, stage: 'hist', dataset: 'zmumu', index: i }, { stdout: () => {} })
        const ms = performance.now() - t
        const merged = readFileSync(path.join(dir, 'hep', 'hist', 'zmumu', 'M.json'), 'utf8')
        return { ms, merged }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    await moduleRun(dirs.many, 32)
    const m1: number[] = []
    const m32: number[] = []
    const n1: number[] = []
    const n32: number[] = []
    let same = true
    const ref = readFileSync(path.join(dirs.one, 'hep', 'hist', 'zmumu', 'M.json'), 'utf8')
    for (let i = 0; i < Math.max(3, reps); i++) {
      const a = await moduleRun(dirs.one, 1)
      const b = await moduleRun(dirs.many, 32)
      m1.push(a.ms)
      m32.push(b.ms)
      const c = await moduleRun(dirs.one, 1, 0)
      const d = await moduleRun(dirs.many, 32, 0)
      n1.push(c.ms)
      n32.push(d.ms)
      same &&= a.merged === ref && b.merged === ref && c.merged === ref && d.merged === ref
    }
    mod.setRootCacheLimit(256)
    for (const d of [proc.dirs.many, warm.dirs.one, warm.dirs.many])
      same &&= readFileSync(path.join(d, 'hep', 'hist', 'zmumu', 'M.json'), 'utf8') === ref

    // jsroot's own figure: open the file and read one 72-event partition's columns (cold cache)
    const cols = ['M', 'pt1', 'pt2']
    const jr: number[] = []
    for (let i = 0; i < 20; i++) {
      clearRootCache()
      const t = performance.now()
      await readRootColumns(FILE, { tree: 'events', branches: cols, start: 72 * (i % 32), stop: 72 * (i % 32) + 72 })
      jr.push(performance.now() - t)
    }
    const jsroot = median(jr.slice(3))
    const perModule = (median(m32) - median(m1)) / 31
    const perModuleNoCache = (median(n32) - median(n1)) / 31
    const load = loadAverage()
    lines.push(
      `hep.hist over ${FILE.split('/').pop()} (2304 events), 1 vs 32 partitions, pool of 2 workers, median of ${reps} (load average ${load}, ${os.cpus().length} CPUs)`,
      `  engine, hep_runtime: process (node hep-task.mjs per partition, built ahead, no tsx): 1 partition ${proc.t1.toFixed(0)} ms, 32 partitions ${proc.t32.toFixed(0)} ms (HEP work in the 32 tasks: ${proc.hep32} ms)`,
      `    overhead per extra partition: ${proc.perExtra.toFixed(1)} ms  (target <= 100 ms: ${proc.perExtra <= 100 ? 'met' : 'NOT met'}; ratio to jsroot's read ${(proc.perExtra / jsroot).toFixed(1)}x)`,
      warm.asModule
        ? `  engine, hep_runtime: module (module tasks in the pool's warm executors): 1 partition ${warm.t1.toFixed(0)} ms, 32 partitions ${warm.t32.toFixed(0)} ms (HEP work in the 32 tasks: ${warm.hep32} ms)`
        : `  engine, hep_runtime: module: this engine has no module tasks, the partitions ran as processes: 1 partition ${warm.t1.toFixed(0)} ms, 32 partitions ${warm.t32.toFixed(0)} ms`,
      `    overhead per extra partition: ${warm.perExtra.toFixed(1)} ms  (target <= 100 ms: ${warm.perExtra <= 100 ? 'met' : 'NOT met'}; ratio to jsroot's read ${(warm.perExtra / jsroot).toFixed(1)}x; ${(proc.perExtra / warm.perExtra).toFixed(1)}x less than process)`,
      `  module calls in one warm process (what a warm executor runs): 1 partition ${median(m1).toFixed(1)} ms, 32 partitions ${median(m32).toFixed(1)} ms`,
      `    overhead per extra partition: ${perModule.toFixed(1)} ms  (target <= 100 ms: ${perModule <= 100 ? 'met' : 'NOT met'}; ratio to jsroot's read ${(perModule / jsroot).toFixed(1)}x)`,
      `  the same without the column cache (each partition decompresses its own baskets): 1 partition ${median(n1).toFixed(1)} ms, 32 partitions ${median(n32).toFixed(1)} ms`,
      `    overhead per extra partition: ${perModuleNoCache.toFixed(1)} ms  (ratio to jsroot's read ${(perModuleNoCache / jsroot).toFixed(1)}x)`,
      `  jsroot's own figure, same run: open the file + read one 72-event partition (3 branches, cold cache): ${jsroot.toFixed(1)} ms`,
      `  merged histogram identical for 1 and 32 partitions, process and module: ${same ? 'yes' : 'NO'}`,
    )
  } finally {
    await env.cleanup()
  }
  return lines
}

// run directly: npx tsx bench/hep.bench.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  ;(async () => {
    for (const l of await benchHep()) console.log(l)
    for (const l of await benchHepPartitions()) console.log(l)
  })()
}
