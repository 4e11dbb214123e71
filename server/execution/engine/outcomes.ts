/**
 * What the engine does with the backend's reports of a task (submitted, running, finished, lost,
 * failed): the task's next state, its retry (the decision is policy.ts's pure function; the backoff
 * timer is here), what it means downstream (ready, or skipped), and the end of the run.
 */
import { decideAfterFailure } from '../policy.ts'
import { setLongTimeout } from '../long-timer.ts'
import type { TaskPatch } from '../store.ts'
import type { RunState, TaskUpdate } from '../types.ts'
import { makeReady, schedulePump } from './dispatch.ts'
import type { ActiveRun, EngineCore, TaskRec } from './model.ts'
import { setRunState, setTask } from './transitions.ts'

export function onTaskUpdate(e: EngineCore, run: ActiveRun, u: TaskUpdate) {
  const t = run.tasks.get(u.taskId)
  if (!t || u.attempt !== t.attempt) return // a stale report of an earlier attempt
  switch (u.kind) {
    case 'submitted': {
      t.ref = u.ref
      if (u.ref.workerId) t.workerId = u.ref.workerId
      e.writes.task(t.id, {
        batchJobId: u.ref.jobId,
        pid: u.ref.pid ?? null,
        host: u.ref.host ?? null,
        workerId: t.workerId,
      })
      e.writes.event({
        runId: run.id,
        type: 'task.submitted',
        taskId: t.id,
        workerId: t.workerId,
        payload: { attempt: t.attempt, jobRef: u.ref },
      })
      return
    }
    case 'info': {
      e.writes.task(t.id, { reason: u.reason })
      e.writes.event({
        runId: run.id,
        type: 'task.info',
        taskId: t.id,
        workerId: t.workerId,
        payload: { attempt: t.attempt, reason: u.reason, raw: u.raw ?? null },
      })
      return
    }
    case 'running': {
      if (t.state !== 'queued') return
      if (u.workerId) t.workerId = u.workerId
      const at = u.at ? new Date(u.at) : new Date()
      t.startedAt = at.getTime()
      setTask(e, run, t, 'running', {
        startedAt: at,
        workerId: t.workerId,
        host: u.host ?? undefined,
        pid: u.pid ?? undefined,
        reason: null,
      })
      armTimeout(e, run, t)
      return
    }
    case 'finished':
      return onFinished(e, run, t, u)
    case 'lost':
      return onLost(e, run, t, u.reason)
    case 'failed': {
      if (t.state !== 'queued' && t.state !== 'running') return
      failTask(e, run, t, u.reason)
      return
    }
  }
}

/** the engine's own timeout, `timeoutGraceSeconds` after the runtime's (which should have fired) */
export function armTimeout(e: EngineCore, run: ActiveRun, t: TaskRec) {
  if (!t.timeoutSeconds) return
  const attempt = t.attempt
  const elapsed = t.startedAt ? Date.now() - t.startedAt : 0
  const ms = Math.max(0, (t.timeoutSeconds + (e.opts.timeoutGraceSeconds ?? 10)) * 1000 - elapsed)
  const timer = setLongTimeout(() => {
    run.timers.delete(t.id)
    if (t.attempt !== attempt || t.state !== 'running') return
    t.engineTimedOut = true
    e.log(
      'warn',
      `task ${t.id} exceeded its timeout (${t.timeoutSeconds}s) and the runtime did not stop it: killing it`,
    )
    void run.session?.cancel([{ taskId: t.id, attempt, ref: t.ref }])
  }, ms)
  run.timers.set(t.id, timer)
}

function clearTimer(run: ActiveRun, t: TaskRec) {
  const tm = run.timers.get(t.id)
  if (tm) tm.clear()
  run.timers.delete(t.id)
}

function onFinished(e: EngineCore, run: ActiveRun, t: TaskRec, u: Extract<TaskUpdate, { kind: 'finished' }>) {
  if (t.state !== 'queued' && t.state !== 'running') return
  clearTimer(run, t)
  const r = u.result
  const exitCode = r ? r.exitCode : (u.exitCode ?? null)
  const signal = r ? r.signal : (u.signal ?? null)
  const finishedAt = r ? new Date(r.finishedAt) : new Date()
  const startedAt = t.startedAt ?? (r ? new Date(r.startedAt).getTime() : finishedAt.getTime())
  const durationMs = r ? r.durationMs : finishedAt.getTime() - startedAt
  if (t.state === 'queued') {
    // the job ran and ended between two polls: record that it ran
    setTask(e, run, t, 'running', { startedAt: new Date(startedAt), workerId: t.workerId })
  }
  const common: TaskPatch = {
    exitCode,
    signal,
    finishedAt,
    durationMs,
    metrics: r?.metrics ? JSON.stringify(r.metrics) : null,
    outputs: r?.outputs ? JSON.stringify(r.outputs) : null,
    host: r?.host ?? undefined,
  }
  const payload = { exitCode, signal, durationMs }
  if (t.cancelRequested || run.cancelRequested) {
    if (r?.exitCode !== 0 || r.cancelled) {
      setTask(
        e,
        run,
        t,
        'cancelled',
        { ...common, reason: t.cancelRequested ? 'cancelled by user' : 'run cancelled' },
        payload,
      )
      afterTerminal(e, run, t)
      return
    }
  }
  const ok = !!r && r.exitCode === 0 && !r.signal && !r.timedOut && !r.error && !t.engineTimedOut
  if (ok) {
    setTask(e, run, t, 'succeeded', { ...common, reason: null }, payload)
    afterTerminal(e, run, t)
    return
  }
  let reason: string
  if (r?.timedOut || t.engineTimedOut) reason = `timed out after ${t.timeoutSeconds}s`
  else if (r?.error) reason = r.error
  else if (!r)
    reason = `exited without a result (${signal ? `signal ${signal}` : `exit code ${exitCode ?? '?'}`})${u.reason ? `: ${u.reason}` : ''}`
  else if (signal) reason = `killed by ${signal}`
  else reason = `exit code ${exitCode}`
  failTask(e, run, t, reason, { patch: common, payload })
}

/** queued|running -> failed, then retry or cascade (the decision: policy.ts) */
export function failTask(
  e: EngineCore,
  run: ActiveRun,
  t: TaskRec,
  reason: string,
  o: { final?: boolean; patch?: TaskPatch; payload?: Record<string, unknown> } = {},
) {
  clearTimer(run, t)
  if (t.state !== 'failed') {
    if (!setTask(e, run, t, 'failed', { finishedAt: new Date(), ...(o.patch ?? {}), reason }, o.payload ?? {})) return
  }
  const d = decideAfterFailure(
    {
      kind: 'failed',
      reason,
      final: o.final,
      stopRequested: t.cancelRequested || run.cancelRequested,
      ...budgets(e, run, t),
    },
    { baseMs: e.opts.retryBackoffMs },
  )
  if (d.action === 'retry') {
    t.retriesUsed++
    retryNow(e, run, t, d.reason, d.delayMs)
    return
  }
  afterTerminal(e, run, t)
}

function budgets(e: EngineCore, run: ActiveRun, t: TaskRec) {
  return {
    retriesUsed: t.retriesUsed,
    maxRetries: t.maxRetries,
    lostUsed: t.lostUsed,
    lostBudget: run.options.lostRetries ?? e.opts.lostRetries ?? 1,
  }
}

/** a new attempt: `retrying`, then ready at once or after its backoff */
export function retryNow(e: EngineCore, run: ActiveRun, t: TaskRec, reason: string, delayMs = 0) {
  t.attempt++
  t.engineTimedOut = false
  t.ref = null
  t.startedAt = null
  setTask(e, run, t, 'retrying', { attempt: t.attempt, reason }, { attempt: t.attempt, delayMs })
  if (t.unmet !== 0) return
  if (delayMs <= 0) {
    makeReady(e, run, t)
    return
  }
  // backoff: the task stays `retrying` meanwhile (a cancel finds it there)
  const attempt = t.attempt
  const timer = setLongTimeout(() => {
    run.timers.delete(t.id)
    if (t.attempt === attempt && t.state === 'retrying') makeReady(e, run, t)
  }, delayMs)
  run.timers.set(t.id, timer)
}

function onLost(e: EngineCore, run: ActiveRun, t: TaskRec, reason: string) {
  if (t.state !== 'queued' && t.state !== 'running') return
  clearTimer(run, t)
  const d = decideAfterFailure(
    { kind: 'lost', reason, stopRequested: t.cancelRequested || run.cancelRequested, ...budgets(e, run, t) },
    { baseMs: e.opts.retryBackoffMs },
  )
  if (d.action === 'cancel') {
    setTask(e, run, t, 'cancelled', {
      reason: t.cancelRequested ? 'cancelled by user' : 'run cancelled',
      finishedAt: new Date(),
    })
    afterTerminal(e, run, t)
    return
  }
  setTask(e, run, t, 'lost', { reason, finishedAt: new Date() })
  if (d.action === 'retry') {
    if (d.budget === 'lost') t.lostUsed++
    else t.retriesUsed++
    retryNow(e, run, t, d.reason, d.delayMs)
    return
  }
  setTask(e, run, t, 'failed', { reason: d.reason })
  afterTerminal(e, run, t)
}

/** a task reached succeeded | failed | cancelled: its dependants become ready, or are skipped */
export function afterTerminal(e: EngineCore, run: ActiveRun, t: TaskRec) {
  if (t.state === 'succeeded') {
    for (const d of t.dependants) {
      d.unmet--
      if (d.unmet === 0 && (d.state === 'pending' || d.state === 'retrying')) makeReady(e, run, d)
    }
  } else {
    const what = t.state === 'failed' ? 'failed' : 'was cancelled'
    const reason = `upstream ${t.stageId} ${what}`
    const stack = [...t.dependants]
    const seen = new Set<TaskRec>()
    while (stack.length) {
      const d = stack.pop()!
      if (seen.has(d)) continue
      seen.add(d)
      if (d.state === 'pending' || d.state === 'retrying') {
        setTask(e, run, d, 'skipped', { reason, finishedAt: new Date() }, { upstream: t.id })
        stack.push(...d.dependants)
      }
    }
  }
  schedulePump(e, run)
  checkDone(e, run)
}

/** every task terminal: the run's final state; waiters resolve once its last writes are stored */
export function checkDone(e: EngineCore, run: ActiveRun) {
  if (run.open > 0 || run.finishing) return
  if (run.state !== 'running' && run.state !== 'cancelling') return
  let failed = 0
  let cancelled = 0
  for (const t of run.tasks.values()) {
    if (t.state === 'failed') failed++
    else if (t.state === 'cancelled') cancelled++
  }
  const to: RunState = failed > 0 ? 'failed' : cancelled > 0 ? 'cancelled' : 'succeeded'
  const error =
    failed > 0
      ? `${failed} task${failed === 1 ? '' : 's'} failed`
      : cancelled > 0
        ? `${cancelled} task${cancelled === 1 ? '' : 's'} cancelled`
        : null
  run.finishing = true
  setRunState(e, run, to, { error, reason: error ?? undefined })
  e.writes.onCommit(async () => {
    run.finishing = false
    if (run.open > 0) return // re-opened by a retry meanwhile
    for (const tm of run.timers.values()) tm.clear()
    run.timers.clear()
    const s = run.session
    run.session = null
    // closing a session (a Dask cluster, a batch poller) may take a while: off the write path
    if (s)
      await Promise.race([
        s.close().catch((err) => e.log('warn', `closing the session of ${run.id}: ${(err as Error).message}`)),
        new Promise((r) => setTimeout(r, 50)),
      ])
    // resolve waiters once the workers' last changes are stored too
    e.writes.onCommit(() => {
      if (run.open === 0 && run.session === null && e.runs.get(run.id) === run) {
        e.runs.delete(run.id)
        for (const w of run.waiters.splice(0)) w(run.state)
      }
    })
  })
}
