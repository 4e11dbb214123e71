/**
 * The hep.* op family in runs: registration (op resolver, partitioner, partition preparer).
 * Loaded by the op registry when a plan uses a hep.* op (ops/installed.ts). The work itself happens
 * in runtime/hep-task.ts, built ahead of time to server/hep/build/hep-task.mjs and run as a process per task or called as a module by a warm
 * executor (execution.config.hep_runtime); see hep-shared.ts for the design.
 *
 *   hep.generate  { output: 'data/zmumu-{i}.parquet', files: 2, events: 10000, seed: 42 }
 *                 synthetic Z->mumu Parquet files written under the run directory (one task)
 *   hep.define / hep.select / hep.hist   server/hep/ops.ts params + dataset | datasets
 */
import { readSetting } from '../../settings.ts'
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ExecutionPlan, PlanStage } from '../../workflow/types.ts'
import { prepareDefine, prepareHist, prepareSelect } from '../../hep/ops.ts'
import { OpError, registerOpFamily, type OpDefinition, type OpResolution } from '../ops.ts'
import { registerPartitioner, registerPartitionPreparer, type Partition } from '../partition.ts'
import {
  HEP_EVENT_OPS,
  HEP_OPS,
  baseDirOf,
  chunkSizeOf,
  expandPattern,
  opParams,
  parsePartitionKey,
  partitionCount,
  partitionKey,
  partitionsFilePath,
  stageDatasets,
  type DatasetPartitions,
  type HepPartitionsFile,
} from './hep-shared.ts'

function appRoot(): string {
  return readSetting('CONTROLROOM_APP_ROOT')
}

function here(): string | null {
  try {
    return path.dirname(fileURLToPath(import.meta.url))
  } catch {
    return null
  }
}

/** server/hep/ in the source tree (from this file, or from the app root inside a Next.js bundle) */
function hepDir(): string {
  const h = here()
  const local = h ? path.join(h, '..', '..', 'hep') : null
  if (local && existsSync(path.join(local, 'build-runtime.mjs'))) return local
  return path.join(appRoot(), 'server', 'hep')
}

/**
 * The hep task runtime, built ahead of time to JavaScript (server/hep/build-runtime.mjs, run by
 * `npm run build` and scripts/setup.sh): no TypeScript is compiled when a task starts.
 */
export function hepTaskScript(): string {
  return path.join(hepDir(), 'build', 'hep-task.mjs')
}

/** builds the runtime when it is missing or older than its sources (once per process; run creation) */
export async function ensureHepTaskScript(): Promise<string> {
  const mod = (await import(
    /*turbopackIgnore: true*/ /* webpackIgnore: true */ pathToFileURL(path.join(hepDir(), 'build-runtime.mjs')).href
  )) as { ensureHepRuntime(): Promise<string> }
  return mod.ensureHepRuntime()
}

/**
 * How hep partitions run: `execution.config.hep_runtime`
 *  - `process`: the task runtime starts `node hep-task.mjs --run-dir ...` per partition,
 *  - `module`: the task is `TaskSpec.module = { path: hep-task.mjs, export: 'runTask' }`, run by the
 *    local strategy's warm executors, which import the module once (no process start per partition);
 *    elsewhere the task runtime runs the module in its own process (one process, not two).
 * Default: `module` everywhere: the local strategy's warm executors import it once; a Slurm or
 * HTCondor job's runtime runs it in its own process (a packed job imports it once for all its
 * partitions); a Dask worker's long-lived helper (runtime/worker-helper.mjs) runs it in-process.
 */
export const HEP_RUNTIMES = ['process', 'module'] as const
export type HepRuntime = (typeof HEP_RUNTIMES)[number]

export function hepRuntimeOf(plan: ExecutionPlan): HepRuntime {
  const v = plan.config?.hep_runtime
  if (v === 'process' || v === 'module') return v
  return 'module'
}

/** the module form of a hep task (the TaskSpec.module shape of server/execution/types.ts) */
export interface HepTaskModule {
  path: string
  export: 'runTask'
}

export type HepOpResolution = OpResolution & { module?: HepTaskModule }

// ------------------------------------------------------------------ checks

function checkHepStage(stage: PlanStage, plan: ExecutionPlan): string | null {
  if (stage.op === 'hep.generate') {
    const p = stage.params ?? {}
    if (p.events !== undefined && !(Number.isInteger(Number(p.events)) && Number(p.events) > 0))
      return `stage '${stage.id}': hep.generate params.events must be a positive integer`
    if (p.files !== undefined && !(Number.isInteger(Number(p.files)) && Number(p.files) > 0))
      return `stage '${stage.id}': hep.generate params.files must be a positive integer`
    if (p.output !== undefined && typeof p.output !== 'string')
      return `stage '${stage.id}': hep.generate params.output must be a path`
    return null
  }
  if (!HEP_EVENT_OPS.has(stage.op))
    return `op '${stage.op}' is not a HEP op (hep.generate, hep.define, hep.select, hep.hist)`
  const names = new Set((plan.datasets ?? []).map((d) => d.name))
  const ds = stageDatasets(stage, plan)
  if (ds.length === 0)
    return `stage '${stage.id}': ${stage.op} reads events, but the workflow declares no data.datasets`
  for (const d of ds)
    if (!names.has(d))
      return `stage '${stage.id}': unknown dataset '${d}' (declared: ${[...names].join(', ') || 'none'})`
  try {
    const params = opParams(stage) as never
    if (stage.op === 'hep.define') prepareDefine(params)
    else if (stage.op === 'hep.select') prepareSelect(params)
    else prepareHist(params)
  } catch (e) {
    return `stage '${stage.id}': ${(e as Error).message}`
  }
  return null
}

function definition(name: string): OpDefinition | null {
  if (name !== 'hep.generate' && !HEP_EVENT_OPS.has(name)) return null
  return {
    name,
    description:
      name === 'hep.generate'
        ? 'synthetic Z->mumu events as Parquet files under the run directory (params: output, files, events, seed)'
        : `${name} over each partition of the stage's datasets (server/hep; merged per dataset)`,
    check(stage, plan) {
      const rt = plan.config?.hep_runtime
      if (rt !== undefined && !HEP_RUNTIMES.includes(rt as HepRuntime))
        return `execution.config.hep_runtime is '${String(rt)}': use ${HEP_RUNTIMES.join(' or ')}`
      return checkHepStage(stage, plan)
    },
    resolve(ctx) {
      const script = hepTaskScript()
      if (!existsSync(script))
        throw new OpError(
          `the hep task runtime ${script} is not built: run \`npm run build\` (or \`node server/hep/build-runtime.mjs\`)`,
        )
      const argv = [process.execPath, script, '--run-dir', ctx.runDir, '--stage', ctx.stage.id]
      if (name !== 'hep.generate') {
        const part = ctx.partition ? parsePartitionKey(ctx.partition.key) : null
        if (!part)
          throw new Error(
            `stage '${ctx.stage.id}': a ${name} task needs a partition (dataset#index), got ${ctx.partition?.key ?? 'none'}`,
          )
        argv.push('--dataset', part.dataset, '--index', String(part.index))
      }
      const resolution: HepOpResolution = { argv, env: { CONTROLROOM_APP_ROOT: appRoot() } }
      if (hepRuntimeOf(ctx.plan) === 'module') resolution.module = { path: script, export: 'runTask' }
      return resolution
    },
  }
}

// ------------------------------------------------------------------ partitions

const planned = new WeakMap<ExecutionPlan, HepPartitionsFile>()

function deferred(
  name: string,
  files: string[],
  treeName: string | null,
  nevents: number | undefined,
  chunk: number | null,
  note: string,
): DatasetPartitions {
  const ranges: { index: number; start: number; stop: number | null }[] = []
  if (nevents !== undefined && chunk) {
    for (let s = 0, i = 0; s < nevents; s += chunk, i++)
      ranges.push({ index: i, start: s, stop: Math.min(nevents, s + chunk) })
  } else ranges.push({ index: 0, start: 0, stop: nevents ?? null })
  if (ranges.length === 0) ranges.push({ index: 0, start: 0, stop: 0 })
  return { name, mode: 'deferred', partitions: null, ranges, files, treeName, note, events: nevents ?? null }
}

/** plans every dataset read by a hep stage; writes <runDir>/hep/partitions.json */
export async function planHepPartitions(plan: ExecutionPlan, runDir: string): Promise<HepPartitionsFile | null> {
  const used = new Set<string>()
  for (const s of plan.stages) if (HEP_EVENT_OPS.has(s.op)) for (const d of stageDatasets(s, plan)) used.add(d)
  if (used.size === 0) return null
  const { planPartitions } = await import('../../hep/partition.ts')
  const baseDir = baseDirOf(plan)
  const chunk = chunkSizeOf(plan)
  const out: HepPartitionsFile = { version: 1, baseDir, chunkSize: chunk, datasets: {} }
  for (const ds of plan.datasets ?? []) {
    if (!used.has(ds.name)) continue
    const files = ds.files.map((f) => expandPattern(f, runDir))
    const nevents = typeof ds.nevents === 'number' ? ds.nevents : undefined
    const treeName = ds.treeName ?? null
    // files made during the run (under {run_dir}) cannot be counted yet
    if (ds.files.some((f) => f.includes('{run_dir}'))) {
      out.datasets[ds.name] = deferred(ds.name, files, treeName, nevents, chunk, 'files are produced during the run')
      continue
    }
    try {
      const p = await planPartitions([{ name: ds.name, files, nevents, treeName: treeName ?? undefined }], {
        baseDir,
        chunkSize: chunk ?? undefined,
      })
      out.datasets[ds.name] = {
        name: ds.name,
        mode: 'planned',
        partitions: p.partitions.map((x) => ({
          index: x.index,
          pieces: [{ file: x.file, treeName: x.treeName, start: x.start, stop: x.stop }],
        })),
        ranges: null,
        files,
        treeName,
        events: p.datasets[0]?.events ?? 0,
      }
      // a dataset with no events still gets one (empty) partition: its histograms exist, empty
      const planned = out.datasets[ds.name]!
      if (planned.partitions!.length === 0) planned.partitions = [{ index: 0, pieces: [] }]
    } catch (e) {
      // planned again by the task, where the error is reported on the task
      out.datasets[ds.name] = deferred(
        ds.name,
        files,
        treeName,
        nevents,
        chunk,
        `not planned at run creation: ${(e as Error).message}`,
      )
    }
  }
  const file = partitionsFilePath(runDir)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(`${file}.tmp`, JSON.stringify(out, null, 2))
  renameSync(`${file}.tmp`, file)
  return out
}

registerPartitionPreparer(async (plan, { runDir }) => {
  if (plan.stages.some((s) => HEP_OPS.has(s.op))) await ensureHepTaskScript()
  const r = await planHepPartitions(plan, runDir)
  if (r) planned.set(plan, r)
})

registerPartitioner((stage, plan) => {
  if (!HEP_EVENT_OPS.has(stage.op)) return null
  const pf = planned.get(plan)
  const out: Partition[] = []
  let i = 0
  for (const d of stageDatasets(stage, plan)) {
    const dp = pf?.datasets[d]
    const n = dp ? partitionCount(dp) : 1
    for (let k = 0; k < n; k++) {
      const piece = dp?.partitions?.[k]?.pieces[0]
      const range = dp?.ranges?.[k]
      out.push({
        key: partitionKey(d, k),
        index: i++,
        data: {
          dataset: d,
          index: k,
          ...(piece
            ? { file: path.basename(piece.file), start: piece.start, stop: piece.stop }
            : range
              ? { start: range.start, stop: range.stop }
              : {}),
        },
      })
    }
  }
  return out.length ? out : null
})

registerOpFamily('hep.', definition)
