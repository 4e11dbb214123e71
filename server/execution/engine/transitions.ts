/**
 * State changes of runs and tasks: each is checked against the transition table (types.ts), applied
 * in memory and queued with its event (write-queue.ts). Nothing here decides what happens next.
 */
import type { TaskPatch, RunPatch } from '../store.ts'
import { checkTransition, TERMINAL_TASK_STATES, type RunState, type TaskState } from '../types.ts'
import type { ActiveRun, EngineCore, TaskRec } from './model.ts'

export function countStates(run: ActiveRun): Record<string, number> {
  const c: Record<string, number> = {}
  for (const t of run.tasks.values()) c[t.state] = (c[t.state] ?? 0) + 1
  return c
}

export function setRunState(
  e: EngineCore,
  run: ActiveRun,
  to: RunState,
  extra: { reason?: string; error?: string | null } = {},
): boolean {
  if (run.state === to) return false
  if (!checkTransition('run', run.state, to, run.id, (m) => e.log('warn', m))) return false
  const from = run.state
  run.state = to
  const patch: RunPatch = { state: to }
  if (to === 'running' && from === 'pending') patch.startedAt = new Date()
  if (to === 'running' && (from === 'failed' || from === 'cancelled')) patch.finishedAt = null
  if (to === 'succeeded' || to === 'failed' || to === 'cancelled') {
    patch.finishedAt = new Date()
    patch.error = extra.error ?? null
  }
  e.writes.run(run.id, patch)
  e.writes.event({
    runId: run.id,
    type: 'run.state',
    taskId: null,
    workerId: null,
    payload: { from, to, reason: extra.reason ?? null, counts: countStates(run) },
  })
  return true
}

export function setTask(
  e: EngineCore,
  run: ActiveRun,
  t: TaskRec,
  to: TaskState,
  patch: TaskPatch = {},
  payload: Record<string, unknown> = {},
): boolean {
  if (!checkTransition('task', t.state, to, `${t.stageId}/${t.id}`, (m) => e.log('warn', m))) return false
  const from = t.state
  const wasTerminal = TERMINAL_TASK_STATES.has(from)
  const isTerminal = TERMINAL_TASK_STATES.has(to)
  t.state = to
  if (wasTerminal && !isTerminal) run.open++
  if (!wasTerminal && isTerminal) run.open--
  const wasOut = from === 'queued' || from === 'running'
  const isOut = to === 'queued' || to === 'running'
  if (isOut && !wasOut) run.inFlight++
  if (wasOut && !isOut) run.inFlight = Math.max(0, run.inFlight - 1)
  e.writes.task(t.id, { state: to, ...patch })
  e.writes.event({
    runId: run.id,
    type: 'task.state',
    taskId: t.id,
    workerId: t.workerId,
    payload: {
      from,
      to,
      attempt: t.attempt,
      stage: t.stageId,
      pool: t.pool,
      ...(patch.reason !== undefined ? { reason: patch.reason } : {}),
      ...payload,
    },
  })
  return true
}
