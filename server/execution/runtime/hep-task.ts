/**
 * The task process of hep.* stages (run by the task runtime as
 * `node --import tsx hep-task.ts --run-dir D --stage S [--dataset X --index i]`).
 *
 * hep.generate: writes synthetic Z->mumu Parquet files under the run directory.
 * hep.define / hep.select / hep.hist: reads its partition of the dataset (only the needed columns),
 * runs the upstream hep.define / hep.select stages then its own op, writes its partial result and,
 * when it completes the set of its (stage, dataset), merges the partials into the dataset's
 * artifacts (histogram JSON + SVG, cutflow JSON + HTML) and `artifacts.json`. See ops/hep-shared.ts.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ExecutionPlan } from '../../workflow/types.ts'
import { ExprError } from '../../hep/expr/index.ts'
import { countEvents, defaultTreeName, fileFormat } from '../../hep/io/index.ts'
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

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

function writeAtomic(file: string, data: string): void {
  mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
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

async function generate(runDir: string, params: Record<string, unknown>): Promise<void> {
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
    process.stdout.write(`wrote ${events} events to ${path.relative(runDir, file)}\n`)
  }
  if (process.env.CONTROLROOM_OUTPUTS)
    writeJson(process.env.CONTROLROOM_OUTPUTS, {
      files: written.map((f) => path.relative(runDir, f)),
      events: events * files,
    })
}

async function main(): Promise<void> {
  const runDir = arg('--run-dir')
  const stageId = arg('--stage')
  if (!runDir || !stageId) throw new Error('usage: hep-task.ts --run-dir D --stage S [--dataset X --index i]')
  const plan = JSON.parse(readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as ExecutionPlan
  const stage = plan.stages.find((s) => s.id === stageId)
  if (!stage) throw new Error(`stage '${stageId}' is not in the plan`)
  if (stage.op === 'hep.generate') return generate(runDir, stage.params ?? {})

  const dataset = arg('--dataset')!
  const index = Number(arg('--index'))
  const pf = JSON.parse(readFileSync(partitionsFilePath(runDir), 'utf8')) as HepPartitionsFile
  const dp = pf.datasets[dataset]
  if (!dp) throw new Error(`dataset '${dataset}' was not planned`)
  const t0 = performance.now()
  const pieces = await piecesOf(dp, index, pf.baseDir)
  const chain = chainFor(stage, plan, dataset)
  const pipeline = preparePipeline(chain.map((s) => ({ id: s.id, op: s.op as 'hep.define', params: opParams(s) })))
  let result = pipeline.empty()
  for (const p of pieces) {
    process.stdout.write(`${dataset}#${index}: ${path.basename(p.file)} events [${p.start}, ${p.stop})\n`)
    const r = await runPartition(
      { dataset, file: p.file, treeName: p.treeName, format: fileFormat(p.file), start: p.start, stop: p.stop, index },
      pipeline,
    )
    result = mergePipelineResults(result, r)
  }
  const ms = performance.now() - t0
  process.stdout.write(
    `${stage.op} ${stage.id} on ${dataset}#${index}: ${result.events} events, ${result.selected} selected (chain: ${chain.map((s) => s.id).join(' -> ')}) in ${ms.toFixed(0)} ms\n`,
  )

  const dir = hepOutDir(runDir, stage.id, dataset)
  writeJson(path.join(dir, `part-${index}.json`), result)
  const total = partitionCount(dp)
  const merged = mergePartials(dir, total)
  if (merged) {
    writeArtifacts(runDir, dir, stage, dataset, merged.result, merged.count)
    process.stdout.write(`merged ${merged.count} partitions of ${dataset}: ${merged.result.events} events\n`)
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
  if (process.env.CONTROLROOM_OUTPUTS) writeJson(process.env.CONTROLROOM_OUTPUTS, outputs)
  if (process.env.CONTROLROOM_METRICS) {
    writeJson(process.env.CONTROLROOM_METRICS, {
      events: result.events,
      selected: result.selected,
      eventsPerSecond: ms > 0 ? Math.round((result.events / ms) * 1000) : null,
      hepMs: Math.round(ms),
    })
  }
  const gpu = process.env.CONTROLROOM_GPU_PRELOAD || process.env.CONTROLROOM_CUDA_JIT
  if (gpu) process.stdout.write('note: gpu.preload / cuda.jit requested; the JavaScript hep ops run on the CPU\n')
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof ExprError) {
      const where = e.path ? ` at params.${e.path.join('.')}` : ''
      process.stderr.write(`expression error${where}:\n${e.format()}\n`)
    } else process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`)
    process.exit(1)
  },
)
