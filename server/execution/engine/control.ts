/**
 * Control requests: cancel a run, cancel a task, retry a task (manual). In this process they act at
 * once; another process (the dashboard for a run a CLI owns) stores a `control` event that the
 * owner's ControlPoller picks up.
 */
import type { ActiveRun, EngineCore, TaskRec } from './model.ts'
import { schedulePump } from './dispatch.ts'
import { afterTerminal, checkDone, retryNow } from './outcomes.ts'
import { adopt } from './reattach.ts'
import { setRunState, setTask } from './transitions.ts'

function activeRun(e: EngineCore, runId: string): ActiveRun {
  const run = e.runs.get(runId)
  if (!run) throw new Error(`run ${runId} is not active in this process`)
  return run
}

export async function cancelRun(e: EngineCore, runId: string, reason = 'cancelled by user'): Promise<void> {
  const run = activeRun(e, runId)
  if (run.cancelRequested && run.state === 'cancelling') return
  run.cancelRequested = true
  run.options.cancelRequested = true
  e.writes.run(run.id, { options: JSON.stringify(run.options) })
  setRunState(e, run, 'cancelling', { reason })
  const active: TaskRec[] = []
  for (const t of run.tasks.values()) {
    if (t.state === 'pending' || t.state === 'retrying') {
      setTask(e, run, t, 'cancelled', { reason: 'run cancelled', finishedAt: new Date() })
    } else if (t.state === 'queued' || t.state === 'running') {
      active.push(t)
    }
  }
  await e.flush()
  if (active.length && run.session) {
    armCancelWatchdog(e, run, active)
    await run.session.cancel(active.map((t) => ({ taskId: t.id, attempt: t.attempt, ref: t.ref })))
  }
  checkDone(e, run)
  await e.flush()
}

/** if a cancelled job never reports back, it is marked cancelled anyway */
function armCancelWatchdog(e: EngineCore, run: ActiveRun, tasks: TaskRec[]) {
  const attempts = new Map(tasks.map((t) => [t, t.attempt]))
  const tm = setTimeout(() => {
    for (const [t, a] of attempts)
      if (t.attempt === a && (t.state === 'queued' || t.state === 'running')) {
        setTask(e, run, t, 'cancelled', {
          reason: 'cancelled (no confirmation from the worker)',
          finishedAt: new Date(),
        })
        afterTerminal(e, run, t)
      }
  }, 20_000)
  tm.unref?.()
}

export async function cancelTask(e: EngineCore, runId: string, taskId: string): Promise<void> {
  const run = activeRun(e, runId)
  const t = run.tasks.get(taskId)
  if (!t) throw new Error(`task ${taskId} is not part of run ${runId}`)
  if (t.state === 'pending' || t.state === 'retrying') {
    t.cancelRequested = true
    setTask(e, run, t, 'cancelled', { reason: 'cancelled by user', finishedAt: new Date() })
    afterTerminal(e, run, t)
  } else if (t.state === 'queued' || t.state === 'running') {
    t.cancelRequested = true
    await e.flush()
    armCancelWatchdog(e, run, [t])
    await run.session?.cancel([{ taskId: t.id, attempt: t.attempt, ref: t.ref }])
  } else throw new Error(`task ${taskId} is ${t.state}: nothing to cancel`)
  await e.flush()
}

/** manual retry of a failed / cancelled / lost task; its cancelled dependants go back to pending */
export async function retryTask(e: EngineCore, runId: string, taskId: string): Promise<void> {
  let run = e.runs.get(runId)
  if (!run) run = await adopt(e, runId, { reopen: true })
  const t = run.tasks.get(taskId)
  if (!t) throw new Error(`task ${taskId} is not part of run ${runId}`)
  if (t.state !== 'failed' && t.state !== 'cancelled' && t.state !== 'lost' && t.state !== 'skipped')
    throw new Error(`task ${taskId} is ${t.state}: only failed, cancelled, skipped or lost tasks can be retried`)
  if (run.state === 'failed' || run.state === 'cancelled') {
    run.cancelRequested = false
    run.options.cancelRequested = false
    e.writes.run(run.id, { options: JSON.stringify(run.options), error: null })
    setRunState(e, run, 'running', { reason: `retry of task ${taskId}` })
    if (!run.session) await e.openSession(run)
  }
  t.cancelRequested = false
  t.retriesUsed = 0
  t.lostUsed = 0
  retryNow(e, run, t, 'retried by user')
  // dependants cancelled because of it wait again
  const stack = [...t.dependants]
  const seen = new Set<TaskRec>()
  while (stack.length) {
    const d = stack.pop()!
    if (seen.has(d)) continue
    seen.add(d)
    if ((d.state === 'skipped' || d.state === 'cancelled') && !d.cancelRequested) {
      setTask(e, run, d, 'pending', { reason: null, finishedAt: null })
      stack.push(...d.dependants)
    }
  }
  schedulePump(e, run)
  await e.flush()
}

/** asks the process that owns a run to do something (cancel, cancelTask, retryTask) */
export async function requestControl(
  e: EngineCore,
  runId: string,
  action: 'cancel' | 'cancelTask' | 'retryTask',
  taskId?: string,
): Promise<void> {
  e.writes.event({
    runId,
    type: 'control',
    taskId: taskId ?? null,
    workerId: null,
    payload: { action, taskId: taskId ?? null, from: process.pid },
  })
  await e.flush()
}

/** follows the `control` events other processes store for the runs this process drives */
export class ControlPoller {
  private timer: NodeJS.Timeout | null = null
  private lastId = 0
  private init: Promise<void> | null = null
  private closed = false

  constructor(private e: EngineCore) {}

  start() {
    if (this.timer || this.closed) return
    this.init ??= this.e.store.maxEventId().then((m) => {
      this.lastId = Math.max(this.lastId, m)
    })
    this.schedule()
  }

  private schedule() {
    this.timer = setTimeout(() => void this.tick(), this.e.opts.controlPollMs ?? 500)
    this.timer.unref?.()
  }

  private async tick() {
    const e = this.e
    this.timer = null
    if (this.closed) return
    try {
      await this.init
      const ids = [...e.runs.keys()]
      if (ids.length) {
        const { events: evs, scannedTo } = await e.store.controlEvents(ids, this.lastId)
        this.lastId = Math.max(this.lastId, scannedTo)
        for (const ev of evs) {
          if (Number(ev.payload.from) === process.pid) continue
          const a = ev.payload.action
          try {
            if (a === 'cancel') await cancelRun(e, ev.runId)
            else if (a === 'cancelTask' && ev.taskId) await cancelTask(e, ev.runId, ev.taskId)
            else if (a === 'retryTask' && ev.taskId) await retryTask(e, ev.runId, ev.taskId)
          } catch (err) {
            e.log('warn', `control request ${String(a)} on ${ev.runId} failed: ${(err as Error).message}`)
          }
        }
      }
    } catch (err) {
      e.log('warn', `control poll failed: ${(err as Error).message}`)
    }
    if (e.runs.size > 0 && !this.closed) this.schedule()
  }

  close() {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
  }
}
