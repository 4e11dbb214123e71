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
import { processSingleton } from '../singleton.ts'

export * from './types.ts'
export { getEngine, setEngine, RunEngine, RunRefusedError, type EngineOptions } from './engine.ts'
export { reconcileRuns, startReconcileLoop, type ReconcileReport } from './reconcile.ts'
export { subscribe } from './bus.ts'
export { registerOp, registerOpFamily, registeredOps } from './ops.ts'
export { registerModifier, registeredModifiers } from './modifiers.ts'
export { registerPartitioner } from './partition.ts'
export { registerBackend, registerStrategy, registeredBackends, registeredStrategies } from './registry.ts'
export * as runs from './runs.ts'

/** the reconcile loop of this process, once started */
const started = processSingleton(
  'execution.started',
  (): { loop?: { stopLoop: () => void; report: Promise<ReconcileReport> } } => ({}),
)

export function startExecution(
  opts: { intervalMs?: number; log?: (m: string) => void } = {},
): Promise<ReconcileReport> {
  if (started.loop) return started.loop.report
  const log = opts.log ?? ((m: string) => console.log(m))
  const report = reconcileRuns().then((r) => {
    if (r.adopted.length || r.failed.length || r.skipped.length)
      log(
        `[controlroom] runs reconciled: ${r.adopted.length} re-attached, ${r.skipped.length} owned by another process, ${r.failed.length} failed${r.failed.length ? ` (${r.failed.map((f) => `${f.runId}: ${f.error}`).join('; ')})` : ''}`,
      )
    return r
  })
  started.loop = { report, stopLoop: startReconcileLoop(opts.intervalMs ?? 15_000) }
  return report
}

export async function stopExecution(): Promise<void> {
  started.loop?.stopLoop()
  started.loop = undefined
  await getEngine().shutdown({ detach: true })
}
