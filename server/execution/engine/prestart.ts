/**
 * Workers started ahead of a run's first task: the local strategy's executors are node processes
 * whose start (tens of ms of CPU each) would otherwise begin only once the run is stored and its
 * first task handed over. Started here, they boot while the engine writes the run's rows.
 */
import { resolveOpDefinition } from '../ops.ts'
import type { TaskRow } from '../store.ts'
import type { Backend, RunAs, Strategy } from '../types.ts'
import type { ExecutionPlan, PlanStage } from '../../workflow/types.ts'

/** does a task of this stage need a process (not an in-process noop)? */
function needsProcess(plan: ExecutionPlan, stage: PlanStage, runDir: string): boolean {
  const def = resolveOpDefinition(plan, stage.op)
  if (!def) return false
  try {
    const r = def.resolve({ plan, stage, runId: '', taskId: '', runDir, taskDir: runDir, attempt: 0, partition: null })
    return !r.inProcess
  } catch {
    return true // resolved per partition: it runs somewhere
  }
}

/** starts the workers the run's waiting tasks will use; returns how to stop them if the run does not start */
export function prestartWorkers(o: {
  backend: Backend
  strategy: Strategy
  plan: ExecutionPlan
  runDir: string
  runAs: RunAs | null
  rows: TaskRow[]
  log: (level: 'warn', message: string) => void
}): () => void {
  if (!o.backend.prestart || !o.strategy.prestart) return () => {}
  const stages = new Map(o.plan.stages.map((s) => [s.id, s]))
  const needs = new Map<string, boolean>()
  const tasksPerPool = new Map<string, number>()
  for (const r of o.rows) {
    if (r.state !== 'pending') continue // reused from an earlier run
    let n = needs.get(r.stageId)
    if (n === undefined) {
      const stage = stages.get(r.stageId)
      needs.set(r.stageId, (n = !!stage && needsProcess(o.plan, stage, o.runDir)))
    }
    if (n) tasksPerPool.set(r.pool, (tasksPerPool.get(r.pool) ?? 0) + 1)
  }
  if (tasksPerPool.size === 0) return () => {}
  try {
    return o.backend.prestart(o.strategy, { runDir: o.runDir, runAs: o.runAs, tasksPerPool, plan: o.plan })
  } catch (e) {
    // not fatal: the executors start with the first task instead
    o.log('warn', `could not start the run's workers ahead: ${(e as Error).message}`)
    return () => {}
  }
}
