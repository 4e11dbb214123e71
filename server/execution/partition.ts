/**
 * Stage -> tasks expansion. Today: one task per stage. The hook: a partitioner may split a stage
 * into one task per data partition (e.g. one per file of the dataset the stage reads).
 *
 *   registerPartitioner((stage, plan) => stage.params.dataset ? filesOf(...) : null)
 *
 * The first partitioner that returns a non-null list wins; null = one task for the stage.
 * Dependencies are stage-level: every task of a stage waits for every task of the stages it needs.
 */
import { processSingleton } from '../singleton.ts'
import type { ExecutionPlan, PlanStage } from '../workflow/types.ts'

export interface Partition {
  key: string
  index: number
  data?: Record<string, unknown>
}

export type Partitioner = (stage: PlanStage, plan: ExecutionPlan) => Partition[] | null

const partitioners = processSingleton('execution.partitioners', (): Partitioner[] => [])

export function registerPartitioner(p: Partitioner): void {
  partitioners.push(p)
}

/**
 * Built in: a stage whose params say `partition: file` (or `partitionBy: file`) and name a dataset
 * (`params.dataset`) gets one task per file of that dataset.
 */
export const datasetFilePartitioner: Partitioner = (stage, plan) => {
  const p = stage.params ?? {}
  if ((p.partition ?? p.partitionBy) !== 'file' || typeof p.dataset !== 'string') return null
  const ds = plan.datasets?.find((d) => d.name === p.dataset)
  if (!ds || ds.files.length === 0) return null
  return ds.files.map((f, i) => ({ key: f, index: i, data: { dataset: ds.name, file: f } }))
}

export function partitionsOf(stage: PlanStage, plan: ExecutionPlan): Partition[] | null {
  for (const p of [datasetFilePartitioner, ...partitioners]) {
    const r = p(stage, plan)
    if (r && r.length > 0) return r
  }
  return null
}

// ---- async preparation (hep.*: planning partitions needs I/O, e.g. counting a file's events) ----
/**
 * Runs once per run, awaited by the engine before the stages are expanded (createRun), with the
 * run directory created. A preparer may write files there and cache what its (synchronous)
 * partitioner returns for this plan object.
 */
export type PartitionPreparer = (plan: ExecutionPlan, ctx: { runDir: string }) => Promise<void>
const preparers = processSingleton('execution.partitionPreparers', (): PartitionPreparer[] => [])

export function registerPartitionPreparer(p: PartitionPreparer): void {
  if (!preparers.includes(p)) preparers.push(p)
}

export async function preparePartitions(plan: ExecutionPlan, ctx: { runDir: string }): Promise<void> {
  for (const p of preparers) await p(plan, ctx)
}
// ---- end async preparation ----
