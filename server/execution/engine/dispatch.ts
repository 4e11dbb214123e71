/**
 * Scheduling and dispatch: a task whose upstream tasks all succeeded is ready (one queue per pool);
 * the pump hands ready tasks to the backend while the pool has capacity (`session.capacity(pool)`,
 * minus what is on its way). A task is stored `queued` BEFORE it is handed over (the hand-over runs
 * after that commit), so a restart never hands a task over twice.
 */
import { buildDispatch, writeSpec } from '../spec.ts'
import type { DispatchTask } from '../types.ts'
import { inputsOf } from './expand.ts'
import type { ActiveRun, EngineCore, TaskRec } from './model.ts'
import { afterTerminal, failTask } from './outcomes.ts'
import { setTask } from './transitions.ts'

export function makeReady(e: EngineCore, run: ActiveRun, t: TaskRec) {
  if (t.inReady) return
  t.inReady = true
  let q = run.ready.get(t.pool)
  if (!q) run.ready.set(t.pool, (q = []))
  q.push(t)
  schedulePump(e, run)
}

/** one pump per run per microtask, however many tasks became ready */
export function schedulePump(e: EngineCore, run: ActiveRun) {
  if (run.pumpScheduled) return
  run.pumpScheduled = true
  queueMicrotask(() => {
    run.pumpScheduled = false
    pump(e, run)
  })
}

function pump(e: EngineCore, run: ActiveRun) {
  if (run.state !== 'running' || !run.session || run.cancelRequested) return
  const batch: { t: TaskRec; d: DispatchTask }[] = []
  for (const [pool, q] of run.ready) {
    let cap = run.session.capacity(pool) - (run.pendingDispatch.get(pool) ?? 0)
    let i = 0
    while (i < q.length) {
      const t = q[i]!
      if (t.state !== 'pending' && t.state !== 'retrying') {
        t.inReady = false
        i++
        continue
      }
      let d: DispatchTask
      try {
        d = buildDispatch({
          plan: run.plan,
          stage: run.stages.get(t.stageId)!,
          runId: run.id,
          runDir: run.runDir,
          taskId: t.id,
          attempt: t.attempt,
          partition: t.partition,
          inputs: inputsOf(t),
        })
      } catch (err) {
        t.inReady = false
        i++
        setTask(e, run, t, 'queued', { attempt: t.attempt, workerId: null })
        failTask(e, run, t, `cannot prepare the task: ${(err as Error).message}`, { final: true })
        continue
      }
      // in-process tasks (noop) hold no worker: they are not bounded by the pool's capacity
      if (!d.inProcess && cap <= 0) break
      t.inReady = false
      i++
      setTask(e, run, t, 'queued', {
        attempt: t.attempt,
        workerId: null,
        startedAt: null,
        finishedAt: null,
        exitCode: null,
        signal: null,
        reason: null,
        durationMs: null,
        pid: null,
        batchJobId: null,
      })
      batch.push({ t, d })
      if (!d.inProcess) {
        cap--
        run.pendingDispatch.set(pool, (run.pendingDispatch.get(pool) ?? 0) + 1)
      }
    }
    q.splice(0, i)
  }
  if (batch.length === 0) return
  e.writes.onCommit(async () => {
    const go: DispatchTask[] = []
    for (const { t, d } of batch) {
      if (!d.inProcess) run.pendingDispatch.set(t.pool, (run.pendingDispatch.get(t.pool) ?? 1) - 1)
      if (t.state !== 'queued' || t.attempt !== d.launch.attempt) continue
      if (t.cancelRequested || run.cancelRequested) {
        setTask(e, run, t, 'cancelled', { reason: 'cancelled before it started', finishedAt: new Date() })
        afterTerminal(e, run, t)
        continue
      }
      if (!d.inProcess) {
        try {
          if (run.session?.writesSpecs) d.launch.spec = d.spec
          else writeSpec(d, run.options.runAs)
        } catch (err) {
          failTask(e, run, t, `cannot write the task spec: ${(err as Error).message}`, { final: true })
          continue
        }
      }
      go.push(d)
    }
    // not awaited: a slow submission (sbatch, condor_submit) must not hold up the writes of other runs
    if (go.length && run.session)
      void run.session.dispatch(go).catch((err) => {
        e.log('error', `dispatch failed: ${(err as Error).stack ?? err}`)
        for (const d of go) {
          const t = run.tasks.get(d.launch.taskId)
          if (t && t.state === 'queued' && t.attempt === d.launch.attempt)
            failTask(e, run, t, `dispatch failed: ${(err as Error).message}`)
        }
      })
    schedulePump(e, run)
  })
}
