/**
 * Task expansion: a frozen plan's stages become task rows (one per partition: partition.ts), and
 * stored rows become the in-memory graph the engine schedules (TaskRec with its upstream tasks and
 * dependants, and how many upstream tasks it still waits for).
 */
import type { ExecutionPlan } from '../../workflow/types.ts'
import { newId } from '../ids.ts'
import { partitionsOf } from '../partition.ts'
import { taskDirFor } from '../paths.ts'
import { clampRetries } from '../policy.ts'
import type { TaskRow } from '../store.ts'
import { TERMINAL_TASK_STATES, type Backend, type RunState, type Strategy, type TaskState } from '../types.ts'
import type { ActiveRun, RunOptions, TaskRec } from './model.ts'

/** a task of an earlier run copied as succeeded (rerunFrom): where its outputs are, what it did */
export interface ReusedTask {
  taskDir: string
  outputs: string | null
  metrics: string | null
  exitCode: number | null
  startedAt: Date | null
  finishedAt: Date | null
  durationMs: number | null
}

/** the task rows of a new run: every stage times its partitions (reused ones already succeeded) */
export function expandTasks(
  plan: ExecutionPlan,
  runId: string,
  createdAt: Date,
  reuse?: { fromRunId: string; tasks: Map<string, ReusedTask> },
): TaskRow[] {
  const rows: TaskRow[] = []
  for (const stage of plan.stages) {
    const parts = partitionsOf(stage, plan) ?? [null]
    for (const part of parts) {
      const id = newId('t')
      const reused = reuse?.tasks.get(`${stage.id}\0${part?.key ?? ''}`)
      rows.push({
        id,
        runId,
        stageId: stage.id,
        partitionKey: part?.key ?? null,
        partitionIndex: part?.index ?? null,
        state: reused ? 'succeeded' : 'pending',
        attempt: 0,
        maxRetries: clampRetries(stage.retries ?? Number(plan.config?.retries ?? 0)),
        pool: stage.pool,
        modifiers: stage.modifiers?.length ? JSON.stringify(stage.modifiers) : null,
        createdAt,
        ...(reused
          ? {
              reason: `reused from run ${reuse!.fromRunId}`,
              message: reused.taskDir,
              exitCode: reused.exitCode,
              startedAt: reused.startedAt,
              finishedAt: reused.finishedAt,
              durationMs: reused.durationMs,
              outputs: reused.outputs,
              metrics: reused.metrics,
            }
          : {}),
      })
    }
  }
  return rows
}

/** the in-memory run of stored (or just expanded) task rows, with its dependency graph */
export function buildRun(
  base: {
    id: string
    plan: ExecutionPlan
    runDir: string
    state: RunState
    options: RunOptions
    backend: Backend
    strategy: Strategy
  },
  rows: {
    id: string
    stageId: string
    state: string
    attempt: number
    maxRetries: number
    pool: string
    partitionKey: string | null
    partitionIndex: number | null
    workerId?: string | null
    message?: string | null
    reason?: string | null
  }[],
): ActiveRun {
  const run: ActiveRun = {
    ...base,
    tasks: new Map(),
    byStage: new Map(),
    stages: new Map(base.plan.stages.map((s) => [s.id, s])),
    ready: new Map(),
    pendingDispatch: new Map(),
    open: 0,
    inFlight: 0,
    session: null,
    cancelRequested: !!base.options.cancelRequested,
    waiters: [],
    timers: new Map(),
    workers: new Map(),
    finishing: false,
    pumpScheduled: false,
  }
  for (const r of rows) {
    const stage = run.stages.get(r.stageId)
    const t: TaskRec = {
      id: r.id,
      stageId: r.stageId,
      pool: r.pool,
      partition: r.partitionKey != null ? { key: r.partitionKey, index: r.partitionIndex ?? 0 } : null,
      state: r.state as TaskState,
      attempt: r.attempt,
      maxRetries: r.maxRetries,
      retriesUsed: 0,
      lostUsed: 0,
      deps: [],
      dependants: [],
      unmet: 0,
      timeoutSeconds: stage?.timeoutSeconds ?? null,
      taskDir: taskDirFor(base.runDir, r.id),
      ref: null,
      workerId: r.workerId ?? null,
      startedAt: null,
      cancelRequested: false,
      engineTimedOut: false,
      inReady: false,
      reusedDir: r.reason?.startsWith('reused from run ') ? (r.message ?? null) : null,
    }
    run.tasks.set(t.id, t)
    if (!run.byStage.has(t.stageId)) run.byStage.set(t.stageId, [])
    run.byStage.get(t.stageId)!.push(t)
    if (!TERMINAL_TASK_STATES.has(t.state)) run.open++
    if (t.state === 'queued' || t.state === 'running') run.inFlight++
  }
  for (const stage of base.plan.stages) {
    const mine = run.byStage.get(stage.id) ?? []
    for (const need of stage.needs) {
      const ups = run.byStage.get(need) ?? []
      for (const t of mine)
        for (const u of ups) {
          t.deps.push(u)
          u.dependants.push(t)
          if (u.state !== 'succeeded') t.unmet++
        }
    }
  }
  return run
}

/** upstream stage id -> the task directories its outputs are in (CONTROLROOM_INPUTS) */
export function inputsOf(t: TaskRec): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const d of t.deps) (out[d.stageId] ??= []).push(d.reusedDir ?? d.taskDir)
  return out
}
