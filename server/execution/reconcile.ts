/**
 * Restart safety. `reconcileRuns()` is called once when the server starts (server/startup.ts):
 * every run still pending/running/cancelling that no live process owns is adopted by this
 * process's engine: tasks whose process/job is alive are re-attached, finished ones get their
 * result.json, vanished ones become `lost` (then retried or failed by policy), the run goes on.
 * Runs owned by another live process (e.g. a `controlroom run` CLI) are left to it.
 * `startReconcileLoop()` repeats that periodically, so a run whose CLI died is picked up.
 */
import { getEngine, type RunEngine } from './engine.ts'
import { LIVE_RUN_STATES } from './vocabulary.ts'

export interface ReconcileReport {
  adopted: string[]
  skipped: { runId: string; reason: string }[]
  failed: { runId: string; error: string }[]
}

export async function reconcileRuns(opts: { engine?: RunEngine } = {}): Promise<ReconcileReport> {
  const engine = opts.engine ?? getEngine()
  const rows = await engine.db.run.findMany({
    where: { state: { in: LIVE_RUN_STATES } },
    select: { id: true, options: true },
    orderBy: { createdAt: 'asc' },
  })
  const report: ReconcileReport = { adopted: [], skipped: [], failed: [] }
  for (const r of rows) {
    if (engine.isActive(r.id)) continue
    if (engine.ownedElsewhere(r.options)) {
      report.skipped.push({ runId: r.id, reason: 'owned by another live process' })
      continue
    }
    try {
      await engine.adopt(r.id)
      report.adopted.push(r.id)
    } catch (e) {
      report.failed.push({ runId: r.id, error: (e as Error).message })
      engine.log('error', `could not reconcile run ${r.id}: ${(e as Error).message}`)
    }
  }
  if (report.adopted.length)
    engine.log('info', `reconciled ${report.adopted.length} run(s): ${report.adopted.join(', ')}`)
  return report
}

/** re-checks every `intervalMs` for runs whose owner died; returns a stop function */
export function startReconcileLoop(intervalMs = 15_000, opts: { engine?: RunEngine } = {}): () => void {
  let stopped = false
  let timer: NodeJS.Timeout | null = null
  const tick = async () => {
    if (stopped) return
    await reconcileRuns(opts).catch((e) => console.error('[controlroom] reconcile failed:', e))
    if (!stopped) {
      timer = setTimeout(tick, intervalMs)
      timer.unref?.()
    }
  }
  timer = setTimeout(tick, intervalMs)
  timer.unref?.()
  return () => {
    stopped = true
    if (timer) clearTimeout(timer)
  }
}
