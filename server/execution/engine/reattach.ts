/**
 * Re-attach: a run stored in the database becomes active in this engine again, after a restart
 * (reconcile.ts) or for a manual retry of a finished run. Its active tasks are handed back to the
 * backend with their last stored submission (`task.submitted` JobRef): the backend finds them
 * alive, finished meanwhile (result.json) or vanished (`lost`). Nothing is dispatched twice.
 */
import type { ExecutionPlan } from '../../workflow/types.ts'
import { loadOpFamilies } from '../ops.ts'
import { runDirFor } from '../paths.ts'
import { resolveDrivers } from '../registry.ts'
import type { ActiveTask, JobRef, RunState, WorkerState } from '../types.ts'
import { makeReady, schedulePump } from './dispatch.ts'
import { buildRun } from './expand.ts'
import type { ActiveRun, EngineCore, RunOptions } from './model.ts'
import { armTimeout, checkDone } from './outcomes.ts'
import { setRunState, setTask } from './transitions.ts'

export async function adopt(e: EngineCore, runId: string, o: { reopen?: boolean } = {}): Promise<ActiveRun> {
  const existing = e.runs.get(runId)
  if (existing) return existing
  const row = await e.db.run.findUnique({ where: { id: runId } })
  if (!row) throw new Error(`run ${runId} not found`)
  const plan = JSON.parse(row.plan) as ExecutionPlan
  const options = JSON.parse(row.options || '{}') as RunOptions
  const { backend, strategy } = resolveDrivers(row.backend, row.strategy)
  await loadOpFamilies(plan) // its waiting tasks are resolved through the op registry
  const tasks = await e.db.task.findMany({
    where: { runId },
    select: {
      id: true,
      stageId: true,
      state: true,
      attempt: true,
      maxRetries: true,
      pool: true,
      partitionKey: true,
      partitionIndex: true,
      workerId: true,
      startedAt: true,
      reason: true,
      message: true,
    },
  })
  const run = buildRun(
    {
      id: runId,
      plan,
      runDir: row.runDir ?? runDirFor(runId),
      state: row.state as RunState,
      options: { ...options, owner: e.identity },
      backend,
      strategy,
    },
    tasks,
  )
  const workers = await e.db.worker.findMany({ where: { runId }, select: { id: true, state: true, pool: true } })
  for (const w of workers) run.workers.set(w.id, { state: w.state as WorkerState, pool: w.pool })
  const startedAt = new Map(tasks.map((t) => [t.id, t.startedAt]))
  // the last submission of every active task
  const active = [...run.tasks.values()].filter((t) => t.state === 'queued' || t.state === 'running')
  const refs = new Map<string, JobRef>()
  if (active.length) {
    const evs = await e.db.event.findMany({
      where: { runId, type: 'task.submitted', taskId: { in: active.map((t) => t.id) } },
      orderBy: { id: 'asc' },
      select: { taskId: true, payload: true },
    })
    for (const ev of evs) {
      const p = JSON.parse(ev.payload) as { attempt: number; jobRef: JobRef }
      if (ev.taskId && p.jobRef) refs.set(ev.taskId, p.jobRef)
    }
  }
  e.runs.set(runId, run)
  e.writes.run(runId, { options: JSON.stringify(run.options) })
  e.startControlPolling()
  const isFinished = run.state === 'succeeded' || run.state === 'failed' || run.state === 'cancelled'
  if (!isFinished || o.reopen) {
    await e.openSession(run)
    if (run.state === 'pending') setRunState(e, run, 'running')
    const reattach: ActiveTask[] = []
    for (const t of active) {
      const ref = refs.get(t.id)
      t.ref = ref && ref.attempt === t.attempt ? ref : null
      if (t.state === 'running') t.startedAt = startedAt.get(t.id)?.getTime() ?? Date.now()
      reattach.push({
        taskId: t.id,
        attempt: t.attempt,
        pool: t.pool,
        stageId: t.stageId,
        state: t.state,
        taskDir: t.taskDir,
        ref: t.ref,
        timeoutSeconds: t.timeoutSeconds,
        startedAt: startedAt.get(t.id)?.toISOString() ?? null,
      })
    }
    for (const t of run.tasks.values())
      if ((t.state === 'pending' || t.state === 'retrying') && t.unmet === 0) makeReady(e, run, t)
    if (run.cancelRequested) {
      for (const t of run.tasks.values())
        if (t.state === 'pending' || t.state === 'retrying')
          setTask(e, run, t, 'cancelled', { reason: 'run cancelled', finishedAt: new Date() })
    }
    e.writes.event({
      runId,
      type: 'run.log',
      taskId: null,
      workerId: null,
      payload: { level: 'info', message: `re-attached by process ${process.pid}: ${reattach.length} active task(s)` },
    })
    await e.flush()
    if (reattach.length && run.session) await run.session.reattach(reattach)
    for (const t of active) if (t.state === 'running') armTimeout(e, run, t)
    if (run.cancelRequested && run.session) {
      const still = active.filter((t) => t.state === 'queued' || t.state === 'running')
      if (still.length) await run.session.cancel(still.map((t) => ({ taskId: t.id, attempt: t.attempt, ref: t.ref })))
    }
    checkDone(e, run)
    schedulePump(e, run)
    await e.flush()
  }
  return run
}
