/**
 * The run engine's public surface (server side).
 *
 *   startExecution()      once at server start (server/startup.ts, after migrations): reconciles
 *                         the runs left active by a previous server and keeps adopting runs whose
 *                         owner process (e.g. a CLI) died.
 *   stopExecution()       on shutdown: stores what is pending and detaches (task processes go on;
 *                         the next start re-attaches them).
 */
import { getEngine } from './engine.ts'
import { reconcileRuns, startReconcileLoop, type ReconcileReport } from './reconcile.ts'

export * from './types.ts'
export { getEngine, setEngine, RunEngine, RunRefusedError, type EngineOptions } from './engine.ts'
export { reconcileRuns, startReconcileLoop, type ReconcileReport } from './reconcile.ts'
export { subscribe } from './bus.ts'
export { registerOp, registerOpFamily, registeredOps } from './ops.ts'
export { registerModifier, registeredModifiers } from './modifiers.ts'
export { registerPartitioner } from './partition.ts'
export { registerBackend, registerStrategy, registeredBackends, registeredStrategies } from './registry.ts'
export * as runs from './runs.ts'

const g = globalThis as unknown as {
  __controlroomExecution?: { stopLoop: () => void; report: Promise<ReconcileReport> }
}

export function startExecution(
  opts: { intervalMs?: number; log?: (m: string) => void } = {},
): Promise<ReconcileReport> {
  if (g.__controlroomExecution) return g.__controlroomExecution.report
  const log = opts.log ?? ((m: string) => console.log(m))
  const report = reconcileRuns().then((r) => {
    if (r.adopted.length || r.failed.length || r.skipped.length)
      log(
        `[controlroom] runs reconciled: ${r.adopted.length} re-attached, ${r.skipped.length} owned by another process, ${r.failed.length} failed${r.failed.length ? ` (${r.failed.map((f) => `${f.runId}: ${f.error}`).join('; ')})` : ''}`,
      )
    return r
  })
  g.__controlroomExecution = { report, stopLoop: startReconcileLoop(opts.intervalMs ?? 15_000) }
  return report
}

export async function stopExecution(): Promise<void> {
  g.__controlroomExecution?.stopLoop()
  g.__controlroomExecution = undefined
  await getEngine().shutdown({ detach: true })
}
