/**
 * The work of a hep.* task, as a module: `runHepTask(args, io)`. Built ahead of time to plain
 * JavaScript (server/hep/build-runtime.mjs -> server/hep/build/hep-task.mjs; jsroot and the other
 * packages stay external), so no TypeScript is compiled when a task starts. Two ways to run it:
 *  - process: `node hep-task.mjs --run-dir D --stage S [--dataset X --index i]` (one process per
 *    task, started by the task runtime; `cliMain` below),
 *  - module: a warm executor imports the module once and calls `runTask(spec, ctx)` per partition
 *    (the TaskSpec.module contract of server/execution/types.ts: `{ path, export: 'runTask' }`).
 *
 * hep.generate: writes synthetic Z->mumu Parquet files under the run directory.
 * hep.define / hep.select / hep.hist: reads its partition of the dataset (only the needed columns),
 * runs the upstream hep.define / hep.select stages then its own op, writes its partial result and,
 * when it completes the set of its (stage, dataset), merges the partials into the dataset's
 * artifacts (histogram JSON + SVG, cutflow JSON + HTML) and `artifacts.json`. See ops/hep-shared.ts.
 * Partial merges while the stage runs are made on the server (server/hep/partial.ts).
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ExecutionPlan } from '../../workflow/types.ts'
import { ExprError } from '../../hep/expr/index.ts'
import { countEvents, defaultTreeName, fileFormat } from '../../hep/io/index.ts'
import { setRootCacheLimit } from '../../hep/io/root.ts'
import { expandFiles } from '../../hep/partition.ts'
import { mergePipelineResults, preparePipeline, runPartition, type PipelineResult } from '../../hep/pipeline.ts'
import { cutflowHtml, cutflowTable, renderHistogramSvg } from '../../hep/render.ts'
import { writeZmumuParquet } from '../../hep/generate.ts'
import { histogramStats } from '../../hep/hist.ts'
import {
  chainFor,
  hepOutDir,
  opParams,
  partitionCount,
  partitionsFilePath,
  safeName,
  type DatasetPartitions,
  type HepArtifactEntry,
  type HepManifest,
  type HepPartitionsFile,
  type HepTaskOutputs,
  type PlannedPiece,
} from '../ops/hep-shared.ts'

let tmpSeq = 0

function writeAtomic(file: string, data: string): void {
  mkdirSync(path.dirname(file), { recursive: true })
  // pid + a counter: a warm process may write the same file from two calls
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`
  writeFileSync(tmp, data)
  renameSync(tmp, file)
}

function writeJson(file: string, v: unknown): void {
  writeAtomic(file, JSON.stringify(v))
}

/** the partition's pieces of files; deferred datasets are resolved now (files exist by now) */
async function piecesOf(d: DatasetPartitions, index: number, baseDir: string): Promise<PlannedPiece[]> {
  if (d.mode === 'planned') {
    const p = d.partitions?.find((x) => x.index === index)
    if (!p) throw new Error(`dataset '${d.name}' has no partition ${index}`)
    return p.pieces
  }
  const r = d.ranges?.find((x) => x.index === index)
  if (!r) throw new Error(`dataset '${d.name}' has no partition ${index}`)
  const files = await expandFiles(d.files, baseDir)
  const out: PlannedPiece[] = []
  let offset = 0
  for (const file of files) {
    const treeName = fileFormat(file) === 'root' ? (d.treeName ?? (await defaultTreeName(file))) : null
    const n = await countEvents(file, treeName ?? undefined)
    const lo = Math.max(r.start, offset)
    const hi = Math.min(r.stop ?? Infinity, offset + n)
    if (hi > lo) out.push({ file, treeName, start: lo - offset, stop: hi - offset })
    offset += n
    if (r.stop != null && offset >= r.stop) break
  }
  return out
}

function mergePartials(dir: string, total: number): { result: PipelineResult; count: number } | null {
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => /^part-\d+\.json$/.test(n))
  } catch {
    return null
  }
  if (names.length < total) return null
  names.sort((a, b) => Number(a.slice(5, -5)) - Number(b.slice(5, -5)))
  let merged: PipelineResult | null = null
  for (const n of names) {
    const r = JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as PipelineResult
    merged = merged ? mergePipelineResults(merged, r) : r
  }
  return merged ? { result: merged, count: names.length } : null
}

function writeArtifacts(
  runDir: string,
  dir: string,
  stage: { id: string; op: string },
  dataset: string,
  merged: PipelineResult,
  partitions: number,
): void {
  const rel = (f: string) => path.relative(runDir, f)
  const artifacts: HepArtifactEntry[] = []
  const add = (file: string, data: string, e: Omit<HepArtifactEntry, 'path' | 'size'>) => {
    writeAtomic(file, data)
    artifacts.push({ ...e, path: rel(file), size: statSync(file).size })
  }
  const base = { stage: stage.id, dataset, partitions, events: merged.events }
  if (stage.op === 'hep.hist') {
    for (const h of merged.histograms) {
      const stats = histogramStats(h)
      const meta = {
        ...base,
        histogram: h.name,
        title: h.title ?? h.name,
        entries: h.entries,
        missing: h.missing,
        stats,
      }
      add(path.join(dir, `${safeName(h.name)}.json`), JSON.stringify(h), {
        name: `${h.name}.json`,
        kind: 'histogram',
        mime: 'application/json',
        meta,
      })
      const svg = renderHistogramSvg(h, { title: `${h.title ?? h.name} — ${dataset}` })
      add(path.join(dir, `${safeName(h.name)}.svg`), svg, {
        name: `${h.name}.svg`,
        kind: 'plot',
        mime: 'image/svg+xml',
        meta,
      })
    }
  }
  if (stage.op === 'hep.select') {
    const cf = merged.cutflows[stage.id]
    if (cf) {
      const meta = { ...base, selected: merged.selected, table: cutflowTable(cf) }
      add(path.join(dir, 'cutflow.json'), JSON.stringify(cf, null, 2), {
        name: `cutflow-${stage.id}.json`,
        kind: 'cutflow',
        mime: 'application/json',
        meta,
      })
      add(path.join(dir, 'cutflow.html'), cutflowHtml(cf), {
        name: `cutflow-${stage.id}.html`,
        kind: 'table',
        mime: 'text/html',
        meta: base,
      })
    }
  }
  const manifest: HepManifest = {
    version: 1,
    stage: stage.id,
    op: stage.op,
    dataset,
    partitions,
    events: merged.events,
    selected: merged.selected,
    artifacts,
  }
  writeJson(path.join(dir, 'merged.json'), merged)
  writeJson(path.join(dir, 'artifacts.json'), manifest)
}

/** for warm executors: drop the decompressed-basket cache (memory), or size it (HEP_ROOT_CACHE_MB) */
export { clearRootCache, setRootCacheLimit } from '../../hep/io/root.ts'

/** what a hep task is asked to do (the CLI flags, or the arguments of a module call) */
export interface HepTaskArgs {
  runDir: string
  stage: string
  /** hep.define / select / hist: the partition */
  dataset?: string
  index?: number
}

/** where a hep task writes (a process: its stdout/stderr and the runtime's env files) */
export interface HepTaskIo {
  stdout(text: string): void
  stderr?(text: string): void
  /** CONTROLROOM_OUTPUTS: outputs.json of the task */
  outputsPath?: string
  /** CONTROLROOM_METRICS: extra metrics merged into result.json by the runtime */
  metricsPath?: string
  /** gpu.preload / cuda.jit requested (a note: the JavaScript ops run on the CPU) */
  gpuRequested?: boolean
  /** cancel / timeout (module form): checked between file pieces and before the merge */
  signal?: AbortSignal
}

export interface HepTaskOutcome {
  outputs: HepTaskOutputs | { files: string[]; events: number }
  metrics: Record<string, number | null>
}

async function generate(runDir: string, params: Record<string, unknown>, io: HepTaskIo): Promise<HepTaskOutcome> {
  const files = Number(params.files ?? 1)
  const events = Number(params.events ?? 10000)
  const seed = Number(params.seed ?? 42)
  const pattern = typeof params.output === 'string' ? params.output : 'data/zmumu-{i}.parquet'
  const written: string[] = []
  for (let i = 0; i < files; i++) {
    const name = pattern.includes('{i}')
      ? pattern.replace(/\{i\}/g, String(i))
      : files > 1
        ? pattern.replace(/(\.\w+)?$/, `-${i}$1`)
        : pattern
    const file = path.resolve(runDir, name)
    if (path.relative(runDir, file).startsWith('..'))
      throw new Error(`hep.generate: output ${name} is outside the run directory`)
    mkdirSync(path.dirname(file), { recursive: true })
    await writeZmumuParquet(`${file}.tmp.parquet`, { events, seed: seed + i, firstEvent: 1 + i * events })
    renameSync(`${file}.tmp.parquet`, file)
    written.push(file)
    io.stdout(`wrote ${events} events to ${path.relative(runDir, file)}\n`)
  }
  const outputs = { files: written.map((f) => path.relative(runDir, f)), events: events * files }
  if (io.outputsPath) writeJson(io.outputsPath, outputs)
  return { outputs, metrics: {} }
}

/** runs one hep task (a partition of a hep.define / select / hist stage, or a hep.generate stage) */
export async function runHepTask(args: HepTaskArgs, io: HepTaskIo): Promise<HepTaskOutcome> {
  const { runDir, stage: stageId } = args
  const plan = JSON.parse(readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as ExecutionPlan
  const stage = plan.stages.find((s) => s.id === stageId)
  if (!stage) throw new Error(`stage '${stageId}' is not in the plan`)
  if (stage.op === 'hep.generate') return generate(runDir, stage.params ?? {}, io)

  const dataset = args.dataset
  const index = Number(args.index)
  if (!dataset || !Number.isInteger(index) || index < 0)
    throw new Error(`a ${stage.op} task needs a dataset and a partition index (got ${dataset}#${args.index})`)
  const pf = JSON.parse(readFileSync(partitionsFilePath(runDir), 'utf8')) as HepPartitionsFile
  const dp = pf.datasets[dataset]
  if (!dp) throw new Error(`dataset '${dataset}' was not planned`)
  const t0 = performance.now()
  const pieces = await piecesOf(dp, index, pf.baseDir)
  const chain = chainFor(stage, plan, dataset)
  const pipeline = preparePipeline(chain.map((s) => ({ id: s.id, op: s.op as 'hep.define', params: opParams(s) })))
  let result = pipeline.empty()
  for (const p of pieces) {
    io.signal?.throwIfAborted()
    io.stdout(`${dataset}#${index}: ${path.basename(p.file)} events [${p.start}, ${p.stop})\n`)
    const r = await runPartition(
      { dataset, file: p.file, treeName: p.treeName, format: fileFormat(p.file), start: p.start, stop: p.stop, index },
      pipeline,
    )
    result = mergePipelineResults(result, r)
  }
  const ms = performance.now() - t0
  io.stdout(
    `${stage.op} ${stage.id} on ${dataset}#${index}: ${result.events} events, ${result.selected} selected (chain: ${chain.map((s) => s.id).join(' -> ')}) in ${ms.toFixed(0)} ms\n`,
  )

  io.signal?.throwIfAborted()
  const dir = hepOutDir(runDir, stage.id, dataset)
  writeJson(path.join(dir, `part-${index}.json`), result)
  const total = partitionCount(dp)
  const merged = mergePartials(dir, total)
  if (merged) {
    writeArtifacts(runDir, dir, stage, dataset, merged.result, merged.count)
    io.stdout(`merged ${merged.count} partitions of ${dataset}: ${merged.result.events} events\n`)
  }
  const outputs: HepTaskOutputs = {
    hep: {
      stage: stage.id,
      op: stage.op,
      dataset,
      partition: index,
      events: result.events,
      selected: result.selected,
      merged: !!merged,
    },
  }
  const metrics = {
    events: result.events,
    selected: result.selected,
    eventsPerSecond: ms > 0 ? Math.round((result.events / ms) * 1000) : null,
    hepMs: Math.round(ms),
  }
  if (io.outputsPath) writeJson(io.outputsPath, outputs)
  if (io.metricsPath) writeJson(io.metricsPath, metrics)
  if (io.gpuRequested) io.stdout('note: gpu.preload / cuda.jit requested; the JavaScript hep ops run on the CPU\n')
  return { outputs, metrics }
}

/** column cache of a warm executor process, in MB (a process per task uses the reader's default) */
const EXECUTOR_CACHE_MB = 64
let cacheBounded = false

/** the parts of a TaskSpec (server/execution/types.ts) a hep task reads */
export interface HepTaskSpec {
  runDir: string
  stageId: string
  outputsPath?: string
  /** the profile modifier's collectors (rssSampleMs > 0: sample memory) */
  collect?: { rssSampleMs?: number }
  metadata?: { partition?: { key: string } | null } & Record<string, unknown>
}

/** the parts of the executor's TaskModuleContext a hep task uses */
export interface HepTaskContext {
  stdout(text: string): void
  stderr(text: string): void
  env?: Record<string, string | undefined>
  metricsPath?: string
  /** aborted on cancel or timeout: the task stops between file pieces */
  signal?: AbortSignal
}

/**
 * The module form (TaskSpec.module = { path: <this file>, export: 'runTask' }): a warm executor
 * imports this module once and calls this per task. Returns the outputs and metrics (also written to
 * the task's files, as the process form does); throws with the user's message on failure.
 */
export async function runTask(spec: HepTaskSpec, ctx: HepTaskContext): Promise<HepTaskOutcome> {
  // a warm executor keeps the column cache between tasks: bound it (HEP_ROOT_CACHE_MB overrides)
  if (!cacheBounded) {
    cacheBounded = true
    if (!process.env.HEP_ROOT_CACHE_MB) setRootCacheLimit(EXECUTOR_CACHE_MB)
  }
  const key = spec.metadata?.partition?.key
  const cut = key ? key.lastIndexOf('#') : -1
  // profile: the peak resident memory of this (warm) process while the task ran
  const sampleMs = spec.collect?.rssSampleMs ?? 0
  let peak = sampleMs > 0 ? process.memoryUsage().rss : 0
  const sampler = sampleMs > 0 ? setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), sampleMs) : null
  try {
    const out = await runHepTask(
      {
        runDir: spec.runDir,
        stage: spec.stageId,
        ...(cut > 0 ? { dataset: key!.slice(0, cut), index: Number(key!.slice(cut + 1)) } : {}),
      },
      {
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        outputsPath: spec.outputsPath,
        metricsPath: ctx.metricsPath,
        gpuRequested: !!(ctx.env?.CONTROLROOM_GPU_PRELOAD || ctx.env?.CONTROLROOM_CUDA_JIT),
        signal: ctx.signal,
      },
    )
    if (sampler) out.metrics.peakRssBytes = Math.max(peak, process.memoryUsage().rss)
    return out
  } catch (e) {
    // an expression error reads as its positioned message, not a stack
    if (e instanceof ExprError) throw new Error(describeHepError(e))
    throw e
  } finally {
    if (sampler) clearInterval(sampler)
  }
}

/** a task's error as the user should read it (an expression error with its position) */
export function describeHepError(e: unknown): string {
  if (e instanceof ExprError) {
    const where = e.path ? ` at params.${e.path.join('.')}` : ''
    return `expression error${where}:\n${e.format()}`
  }
  return (e as Error)?.stack ?? String(e)
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

/** the process form: `node hep-task.mjs --run-dir D --stage S [--dataset X --index i]` */
export async function cliMain(argv: string[]): Promise<number> {
  const runDir = flag(argv, '--run-dir')
  const stage = flag(argv, '--stage')
  if (!runDir || !stage) {
    process.stderr.write('usage: hep-task.mjs --run-dir D --stage S [--dataset X --index i]\n')
    return 2
  }
  const index = flag(argv, '--index')
  try {
    await runHepTask(
      { runDir, stage, dataset: flag(argv, '--dataset'), index: index === undefined ? undefined : Number(index) },
      {
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
        outputsPath: process.env.CONTROLROOM_OUTPUTS,
        metricsPath: process.env.CONTROLROOM_METRICS,
        gpuRequested: !!(process.env.CONTROLROOM_GPU_PRELOAD || process.env.CONTROLROOM_CUDA_JIT),
      },
    )
    return 0
  } catch (e) {
    process.stderr.write(`${describeHepError(e)}\n`)
    return 1
  }
}

// run as a program (not when imported by an executor or a test)
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cliMain(process.argv.slice(2)).then((code) => process.exit(code))
}
