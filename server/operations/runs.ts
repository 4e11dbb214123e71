/**
 * What runs now and what failed lately, for the overview: per active run its progress by stage,
 * its pools' workers busy / idle / waiting in the batch queue, and its queue depth (tasks waiting);
 * per recent failure the task that failed first, with its exit code or signal and reason.
 * A handful of grouped queries however many tasks the runs have.
 */
import type { Db } from '../db/client.ts'
import { RUN_STATES, type RunState, TERMINAL_RUN_STATES, type TaskState } from '../execution/vocabulary.ts'
import type { ExecutionPlan } from '../workflow/types.ts'

/** pending, running, cancelling: the run states that are not final */
export const ACTIVE_STATES: RunState[] = RUN_STATES.filter((s) => !TERMINAL_RUN_STATES.has(s))

export interface StageProgress {
  id: string
  pool: string
  total: number
  succeeded: number
  failed: number
  running: number
  waiting: number
}

export interface PoolActivity {
  pool: string
  /** workers asked for in the plan */
  planned: number
  busy: number
  idle: number
  /** in the batch queue (Slurm pending, HTCondor idle) or being started */
  starting: number
  /** tasks of the pool waiting for a worker */
  queued: number
  resources: { cpus: number; memoryBytes: number | null; gpus: number }
}

export interface ActiveRunView {
  id: string
  workflowName: string
  versionNumber: number
  state: string
  backend: string
  strategy: string
  startedAt: Date | null
  total: number
  succeeded: number
  failed: number
  queueDepth: number
  stages: StageProgress[]
  pools: PoolActivity[]
  /** Dask workers of the run (their host and pool resources) */
  daskWorkers: { id: string; pool: string; host: string | null; state: string; busy: boolean }[]
}

export interface FailureView {
  runId: string
  workflowName: string
  versionNumber: number
  workflowId: string
  finishedAt: Date | null
  error: string | null
  failedTasks: number
  /** the task that failed first */
  task: {
    id: string
    stageId: string
    partitionKey: string | null
    exitCode: number | null
    signal: string | null
    reason: string | null
  } | null
}

const WAITING: ReadonlySet<string> = new Set<TaskState>(['pending', 'queued', 'retrying'])

export async function activeRuns(db: Db, limit = 20): Promise<ActiveRunView[]> {
  const runs = await db.run.findMany({
    where: { state: { in: ACTIVE_STATES } },
    orderBy: { createdAt: 'desc' },
    take: limit,
    include: { workflow: { select: { name: true } }, version: { select: { number: true } } },
  })
  if (runs.length === 0) return []
  const ids = runs.map((r) => r.id)
  const [byStage, byPool, workers, runningTasks] = await Promise.all([
    db.task.groupBy({ by: ['runId', 'stageId', 'state'], where: { runId: { in: ids } }, _count: { _all: true } }),
    db.task.groupBy({ by: ['runId', 'pool', 'state'], where: { runId: { in: ids } }, _count: { _all: true } }),
    db.worker.findMany({
      where: { runId: { in: ids }, state: { not: 'gone' } },
      select: { id: true, runId: true, pool: true, state: true, kind: true, host: true, currentTaskId: true },
    }),
    // a worker is busy while a task runs on it (backends that run several tasks per worker process
    // do not keep Worker.currentTaskId: the running tasks' workerId is the truth)
    db.task.findMany({
      where: { runId: { in: ids }, state: 'running', workerId: { not: null } },
      select: { workerId: true },
    }),
  ])
  const busyWorkers = new Set(runningTasks.map((t) => t.workerId))
  const isBusy = (w: { id: string; currentTaskId: string | null }) => busyWorkers.has(w.id) || Boolean(w.currentTaskId)
  return runs.map((r) => {
    const plan = JSON.parse(r.plan) as ExecutionPlan
    const stages: StageProgress[] = plan.stages.map((s) => {
      const rows = byStage.filter((g) => g.runId === r.id && g.stageId === s.id)
      const n = (pred: (state: string) => boolean) =>
        rows.filter((g) => pred(g.state)).reduce((a, g) => a + g._count._all, 0)
      return {
        id: s.id,
        pool: s.pool,
        total: n(() => true),
        succeeded: n((x) => x === 'succeeded'),
        failed: n((x) => x === 'failed' || x === 'lost'),
        running: n((x) => x === 'running'),
        waiting: n((x) => WAITING.has(x)),
      }
    })
    const ws = workers.filter((w) => w.runId === r.id)
    const pools: PoolActivity[] = plan.pools
      .filter((p) => p.stages.length > 0)
      .map((p) => {
        const pw = ws.filter((w) => w.pool === p.name)
        return {
          pool: p.name,
          planned: p.workers,
          busy: pw.filter((w) => w.state === 'running' && isBusy(w)).length,
          idle: pw.filter((w) => w.state === 'running' && !isBusy(w)).length,
          starting: pw.filter((w) => w.state === 'requested' || w.state === 'pending-in-queue').length,
          queued: byPool
            .filter((g) => g.runId === r.id && g.pool === p.name && WAITING.has(g.state))
            .reduce((a, g) => a + g._count._all, 0),
          resources: { cpus: p.resources.cpus, memoryBytes: p.resources.memoryBytes, gpus: p.resources.gpus },
        }
      })
    const sum = (k: 'total' | 'succeeded' | 'failed' | 'waiting') => stages.reduce((a, s) => a + s[k], 0)
    return {
      id: r.id,
      workflowName: r.workflow.name,
      versionNumber: r.version.number,
      state: r.state,
      backend: r.backend,
      strategy: r.strategy,
      startedAt: r.startedAt,
      total: sum('total'),
      succeeded: sum('succeeded'),
      failed: sum('failed'),
      queueDepth: sum('waiting'),
      stages,
      pools,
      daskWorkers: ws
        .filter((w) => w.kind === 'dask')
        .map((w) => ({ id: w.id, pool: w.pool, host: w.host, state: w.state, busy: isBusy(w) })),
    }
  })
}

export async function recentFailures(db: Db, limit = 8): Promise<FailureView[]> {
  const runs = await db.run.findMany({
    where: { state: 'failed' },
    orderBy: [{ finishedAt: 'desc' }, { createdAt: 'desc' }],
    take: limit,
    include: { workflow: { select: { name: true } }, version: { select: { number: true } } },
  })
  return Promise.all(
    runs.map(async (r) => {
      const [first, failedTasks] = await Promise.all([
        db.task.findFirst({
          where: { runId: r.id, state: { in: ['failed', 'lost'] } },
          orderBy: [{ finishedAt: 'asc' }, { id: 'asc' }],
          select: { id: true, stageId: true, partitionKey: true, exitCode: true, signal: true, reason: true },
        }),
        db.task.count({ where: { runId: r.id, state: { in: ['failed', 'lost'] } } }),
      ])
      return {
        runId: r.id,
        workflowId: r.workflowId,
        workflowName: r.workflow.name,
        versionNumber: r.version.number,
        finishedAt: r.finishedAt,
        error: r.error,
        failedTasks,
        task: first,
      }
    }),
  )
}
