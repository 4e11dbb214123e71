/**
 * HEP stages in runs: what the engine side (ops/hep.ts) and the task process
 * (runtime/hep-task.ts) agree on. No jsroot / hyparquet import here (the server bundle stays light).
 *
 * Design (see server/execution/ops/README-hep.md):
 *  - A stage with op hep.define / hep.select / hep.hist runs as one task per partition of every
 *    dataset it reads (`params.dataset` / `params.datasets`, default: all of `data.datasets`).
 *    Partition key: `<dataset>#<i>` (i: the partition's index within the dataset).
 *  - The partitions are planned once, when the run is created, into `<runDir>/hep/partitions.json`:
 *    "planned" datasets (files exist: globs expanded, entries counted, chunks within files) or
 *    "deferred" datasets (files made by an upstream stage, e.g. hep.generate: global event ranges
 *    of `chunk_size` over `nevents`, mapped onto the files by the task when it runs).
 *  - Chaining: a task re-reads its partition and runs the upstream hep.define / hep.select stages of
 *    its stage (transitively through `needs`, in plan order) before its own op. No intermediate files.
 *  - Merge: every task writes its partial result `part-<i>.json`; the task that completes the set
 *    of a (stage, dataset) merges them (exact merge: identical to an unpartitioned run) and writes
 *    the artifacts + `artifacts.json`. Two tasks finishing together both merge to the same bytes
 *    (atomic renames), so no lock is needed. The server registers Artifact rows from the manifests.
 */
import path from 'node:path'
import type { ExecutionPlan, PlanStage } from '../../workflow/types.ts'
import { exprVariables, parseExpr } from '../../hep/expr/index.ts'

export const HEP_EVENT_OPS = new Set(['hep.define', 'hep.select', 'hep.hist'])
export const HEP_OPS = new Set([...HEP_EVENT_OPS, 'hep.generate'])

/** keys of stage params that are about where the stage runs, not about the op */
const ROUTING_PARAM_KEYS = new Set(['dataset', 'datasets', 'partition', 'partitionBy'])

export function opParams(stage: PlanStage): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(stage.params ?? {})) if (!ROUTING_PARAM_KEYS.has(k)) out[k] = v
  // the catalog's short forms: hep.hist { expression, bins: n, range: [lo, hi], weight } and
  // hep.select { selection: [cut, ...] } (all of them)
  if (
    stage.op === 'hep.hist' &&
    out.histograms === undefined &&
    (typeof out.expression === 'string' || typeof out.expr === 'string')
  ) {
    const range = Array.isArray(out.range) ? out.range : [0, 1]
    const bins =
      typeof out.bins === 'object' && out.bins !== null
        ? out.bins
        : { n: Number(out.bins ?? 50), low: Number(range[0]), high: Number(range[1]) }
    const { expression, expr, bins: _b, range: _r, weight, ...rest } = out
    return {
      ...rest,
      histograms: [{ name: stage.id, expr: expression ?? expr, bins, ...(weight !== undefined ? { weight } : {}) }],
    }
  }
  if (stage.op === 'hep.select' && Array.isArray(out.selection)) out.selection = { all: out.selection }
  if (
    stage.op === 'hep.define' &&
    out.variables &&
    typeof out.variables === 'object' &&
    !Array.isArray(out.variables)
  ) {
    out.variables = orderDefinitions(out.variables as Record<string, unknown>)
  }
  return out
}

/**
 * The frozen plan has its keys sorted (canonical JSON), so the YAML order of hep.define variables
 * is lost: order them so that each comes after the variables it uses (ties: as given; a cycle or
 * an unparsable expression leaves the rest as given, and the op reports it).
 */
export function orderDefinitions(vars: Record<string, unknown>): Record<string, unknown> {
  const names = Object.keys(vars)
  const deps = new Map<string, Set<string>>()
  for (const n of names) {
    const src = vars[n]
    let used: string[] = []
    try {
      if (typeof src === 'string') used = exprVariables(parseExpr(src).ast)
    } catch {
      used = []
    }
    deps.set(n, new Set(used.filter((u) => u !== n && u in vars)))
  }
  const out: Record<string, unknown> = {}
  const done = new Set<string>()
  let progress = true
  while (done.size < names.length && progress) {
    progress = false
    for (const n of names) {
      if (done.has(n) || [...deps.get(n)!].some((d) => !done.has(d))) continue
      out[n] = vars[n]
      done.add(n)
      progress = true
    }
  }
  for (const n of names) if (!done.has(n)) out[n] = vars[n]
  return out
}

/** the datasets a hep stage reads */
export function stageDatasets(stage: PlanStage, plan: ExecutionPlan): string[] {
  const p = stage.params ?? {}
  const named =
    typeof p.dataset === 'string'
      ? [p.dataset]
      : Array.isArray(p.datasets)
        ? p.datasets.map(String)
        : (plan.datasets ?? []).map((d) => d.name)
  return stage.appliesTo ? named.filter((n) => appliesTo(stage, plan, n)) : named
}

/** `applies_to` (fasthep-flow): a dataset's eventtype defaults to mc, as there */
function appliesTo(stage: PlanStage, plan: ExecutionPlan, name: string): boolean {
  const a = stage.appliesTo ?? {}
  const d = (plan.datasets ?? []).find((x) => x.name === name)
  if (a.datasets && !a.datasets.includes(name)) return false
  if (a.eventtype && String(d?.eventtype ?? 'mc').toLowerCase() !== a.eventtype) return false
  return true
}

/** events per partition: execution.config.chunk_size, else data.chunk_size (null: one per file) */
export function chunkSizeOf(plan: ExecutionPlan): number | null {
  const data = (plan.passthrough?.data ?? {}) as Record<string, unknown>
  for (const v of [plan.config?.chunk_size, plan.config?.chunksize, data.chunk_size, data.chunksize]) {
    const n = Number(v)
    if (v != null && Number.isInteger(n) && n > 0) return n
  }
  return null
}

/** where relative dataset paths resolve: data.base_dir, else the server's working directory */
export function baseDirOf(plan: ExecutionPlan): string {
  const data = (plan.passthrough?.data ?? {}) as Record<string, unknown>
  const b = data.base_dir ?? data.baseDir
  return path.resolve(
    /*turbopackIgnore: true*/ typeof b === 'string' && b ? b : process.env.CONTROLROOM_APP_ROOT || process.cwd(),
  )
}

/** `{run_dir}` in dataset file patterns */
export function expandPattern(p: string, runDir: string): string {
  return p.replace(/\{run_dir\}/g, runDir)
}

/**
 * The pipeline of a task of `stage` on `dataset`: the upstream hep.define / hep.select stages
 * (ancestors through needs, plan order) that read this dataset, then the stage itself.
 */
export function chainFor(stage: PlanStage, plan: ExecutionPlan, dataset: string): PlanStage[] {
  const byId = new Map(plan.stages.map((s) => [s.id, s]))
  const anc = new Set<string>()
  const stack = [...stage.needs]
  while (stack.length) {
    const id = stack.pop()!
    if (anc.has(id)) continue
    anc.add(id)
    stack.push(...(byId.get(id)?.needs ?? []))
  }
  const chain = plan.stages.filter(
    (s) =>
      anc.has(s.id) && (s.op === 'hep.define' || s.op === 'hep.select') && stageDatasets(s, plan).includes(dataset),
  )
  return [...chain, stage]
}

// ------------------------------------------------------------------ partitions.json

export interface PlannedPiece {
  file: string
  treeName: string | null
  start: number
  stop: number
}

export interface DatasetPartitions {
  name: string
  mode: 'planned' | 'deferred'
  /** planned: one entry per partition, each with its file piece */
  partitions: { index: number; pieces: PlannedPiece[] }[] | null
  /** deferred: global event ranges [start, stop) over the dataset's files (stop null: to the end) */
  ranges: { index: number; start: number; stop: number | null }[] | null
  /** deferred: the patterns ({run_dir} expanded at run time), tree name */
  files: string[]
  treeName: string | null
  /** why the dataset is deferred (files missing at run creation, planning error) */
  note?: string
  events: number | null
}

export interface HepPartitionsFile {
  version: 1
  baseDir: string
  chunkSize: number | null
  datasets: Record<string, DatasetPartitions>
}

export function partitionsFilePath(runDir: string): string {
  return path.join(runDir, 'hep', 'partitions.json')
}

export function partitionCount(d: DatasetPartitions): number {
  return d.mode === 'planned' ? (d.partitions?.length ?? 0) : (d.ranges?.length ?? 0)
}

/** `zmumu#3` -> { dataset: 'zmumu', index: 3 } */
export function parsePartitionKey(key: string): { dataset: string; index: number } | null {
  const i = key.lastIndexOf('#')
  if (i <= 0) return null
  const index = Number(key.slice(i + 1))
  if (!Number.isInteger(index) || index < 0) return null
  return { dataset: key.slice(0, i), index }
}

export function partitionKey(dataset: string, index: number): string {
  return `${dataset}#${index}`
}

// ------------------------------------------------------------------ output layout

export function safeName(s: string): string {
  return s.replace(/[^\w.-]/g, '_').replace(/^\.+/, '_') || '_'
}

/** `<runDir>/hep/<stage>/<dataset>/` */
export function hepOutDir(runDir: string, stageId: string, dataset: string): string {
  return path.join(runDir, 'hep', safeName(stageId), safeName(dataset))
}

export interface HepArtifactEntry {
  name: string
  /** histogram | plot | cutflow | table | file */
  kind: string
  mime: string
  /** relative to the run directory */
  path: string
  size: number
  meta: Record<string, unknown>
}

export interface HepManifest {
  version: 1
  stage: string
  op: string
  dataset: string
  partitions: number
  events: number
  selected: number
  artifacts: HepArtifactEntry[]
}

/** outputs.json of a hep task (Task.outputs) */
export interface HepTaskOutputs {
  hep: {
    stage: string
    op: string
    dataset: string
    partition: number
    events: number
    selected: number
    merged: boolean
  }
}
