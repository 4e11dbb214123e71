/**
 * Run domain functions (called by the tRPC router `run.*` and the CLI). Thin over the engine:
 * they validate, read from the database and forward control to the process that owns a run
 * (this one, or another live process through a `control` event).
 */
import path from 'node:path'
import type { Db } from '../db/client.ts'
import { DomainError, badInput, notFound } from '../errors.ts'
import { compileForRun } from '../library/workflows.ts'
import { type Actor, actorUserId, assertMayChange, localActor } from '../library/policy.ts'
import { localUserName } from '../auth/core.ts'
import { isolationProblem, type RunAs, resolveRunAs } from '../auth/os-user.ts'
import { loadSiteConfig } from '../site/load.ts'
import { loadUsers } from '../auth/users.ts'
import { redactSecrets } from '../credentials/index.ts'
import type { ExecutionPlan } from '../workflow/types.ts'
import { getEngine, RunRefusedError, type RunEngine } from './engine.ts'
import { taskDirFor, taskFiles } from './paths.ts'
import { openTaskFile, runOwnerUid } from './task-file.ts'
import { resolveDrivers } from './registry.ts'
import { type RunEvent, safeParseRunEvent } from './events.ts'
import type { PoolProblem, RenderedSubmission, RunState, TaskState } from './types.ts'
import { TERMINAL_RUN_STATES } from './vocabulary.ts'

export interface StartRunInput {
  versionId: string
  overrides?: { backend?: string; strategy?: string }
  source?: 'ui' | 'cli' | 'api'
  /** who starts it (the run's owner); default: the single user of token mode (CLI, scripts) */
  actor?: Actor
}

/** The caller, or the single user of token mode when a server-side caller (CLI, tests) gives none. */
export function actorOr(actor?: Actor): Actor {
  return actor ?? localActor(localUserName())
}

function engineOf(e?: RunEngine) {
  return e ?? getEngine()
}

function applyOverrides(plan: ExecutionPlan, o?: { backend?: string; strategy?: string }): ExecutionPlan {
  if (!o || (!o.backend && !o.strategy)) return plan
  return {
    ...plan,
    backend: (o.backend ?? plan.backend) as ExecutionPlan['backend'],
    strategy: (o.strategy ?? plan.strategy) as ExecutionPlan['strategy'],
  }
}

const WHERE: Record<string, string> = {
  local: 'local tasks',
  slurm: 'Slurm jobs',
  htcondor: 'HTCondor jobs',
}

/** the site file (null when it does not load: the strategy's preflight then says why) */
function siteOrNull() {
  try {
    return loadSiteConfig()
  } catch {
    return null
  }
}

/**
 * Users mode: the OS user the actor's tasks run as (undefined in token mode: the single user's
 * tasks run as the server's user). Refused (NOT_RUNNABLE, with the reason) when the tasks cannot
 * be isolated from the server and from other accounts.
 */
export function runAsFor(actor: Actor, plan: ExecutionPlan): RunAs | undefined {
  if (actor.mode !== 'users') return undefined
  const problem = isolationProblem(plan, siteOrNull())
  if (problem) throw new DomainError('NOT_RUNNABLE', problem)
  const account = loadUsers().find((u) => u.name === actor.name)
  const r = resolveRunAs(account, WHERE[plan.strategy] ?? `${plan.strategy} jobs`)
  if (!r.ok) throw new DomainError('NOT_RUNNABLE', r.reason)
  return r.runAs
}

/**
 * Who may start a run of a workflow, as whom: FORBIDDEN unless the actor owns the workflow (or is
 * an admin, or token mode); NOT_RUNNABLE when users mode cannot isolate the tasks. Returns the
 * run's owner id and the OS user its tasks run as. Every way of starting a run goes through it
 * (start, rerunFrom, overview.launch, overview.resume).
 */
export async function authorizeRunStart(
  db: Db,
  actor: Actor | undefined,
  workflow: { name: string; ownerId: string | null },
  plan: ExecutionPlan,
): Promise<{ ownerId: string | null; runAs?: RunAs }> {
  const who = actorOr(actor)
  await assertMayChange(
    db,
    who,
    { ownerId: workflow.ownerId, label: `workflow "${workflow.name}"` },
    'run it (duplicate it to run your own copy)',
  )
  const runAs = runAsFor(who, plan)
  return { ownerId: await actorUserId(db, who), ...(runAs ? { runAs } : {}) }
}

function refused(e: unknown): never {
  if (e instanceof RunRefusedError) throw new DomainError('NOT_RUNNABLE', e.message, { problems: e.problems })
  throw e
}

/** freezes the version's plan and starts a run; refuses invalid versions and plans this host cannot run */
export async function startRun(
  input: StartRunInput,
  engine?: RunEngine,
): Promise<{ runId: string; warnings: PoolProblem[] }> {
  const eng = engineOf(engine)
  const version = await eng.db.workflowVersion.findUnique({
    where: { id: input.versionId },
    select: {
      id: true,
      workflowId: true,
      yaml: true,
      valid: true,
      number: true,
      errorCount: true,
      workflow: { select: { name: true, ownerId: true } },
    },
  })
  if (!version) throw notFound(`workflow version ${input.versionId} not found`)
  const plan = applyOverrides(compileForRun(version, input.overrides), input.overrides)
  const { ownerId, runAs } = await authorizeRunStart(eng.db, input.actor, version.workflow, plan)
  try {
    return await eng.createRun({
      workflowId: version.workflowId,
      versionId: version.id,
      plan,
      source: input.source ?? 'api',
      ownerId,
      options: { overrides: input.overrides, ...(runAs ? { runAs } : {}) },
    })
  } catch (e) {
    refused(e)
  }
}

/** preflight problems + the submission text per pool for a version (the plan panel's preview) */
export async function previewRun(
  input: { versionId: string; overrides?: { backend?: string; strategy?: string } },
  engine?: RunEngine,
): Promise<{
  problems: PoolProblem[]
  pools: { pool: string; submission: RenderedSubmission | null; error?: string }[]
}> {
  const eng = engineOf(engine)
  const version = await eng.db.workflowVersion.findUnique({
    where: { id: input.versionId },
    select: { id: true, yaml: true, valid: true, number: true, errorCount: true },
  })
  if (!version) throw notFound(`workflow version ${input.versionId} not found`)
  const plan = applyOverrides(compileForRun(version, input.overrides), input.overrides)
  const problems = await eng.preflight(plan)
  const pools: { pool: string; submission: RenderedSubmission | null; error?: string }[] = []
  try {
    const { strategy } = resolveDrivers(plan.backend, plan.strategy)
    for (const p of plan.pools) {
      try {
        pools.push({ pool: p.name, submission: await strategy.render(p, plan) })
      } catch (e) {
        pools.push({ pool: p.name, submission: null, error: (e as Error).message })
      }
    }
  } catch {
    /* the driver problem is in `problems` */
  }
  return { problems, pools }
}

// ------------------------------------------------------------------ queries

export interface RunListInput {
  workflowId?: string
  state?: string
  backend?: string
  strategy?: string
  /** owner's user name */
  owner?: string
  /** search: a run id (or its end), a workflow name (case-insensitive where the database allows) */
  q?: string
  cursor?: string | null
  limit?: number
}

function runListWhere(input: RunListInput) {
  const q = input.q?.trim()
  return {
    ...(input.workflowId ? { workflowId: input.workflowId } : {}),
    ...(input.state ? { state: input.state } : {}),
    ...(input.backend ? { backend: input.backend } : {}),
    ...(input.strategy ? { strategy: input.strategy } : {}),
    ...(input.owner ? { owner: { name: input.owner } } : {}),
    ...(q ? { OR: [{ id: { endsWith: q } }, { id: q }, { workflow: { name: { contains: q } } }] } : {}),
  }
}

export async function listRuns(db: Db, input: RunListInput = {}) {
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 200)
  const where = runListWhere(input)
  const [rows, total] = await Promise.all([
    db.run.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
      select: {
        id: true,
        workflowId: true,
        versionId: true,
        state: true,
        backend: true,
        strategy: true,
        source: true,
        options: true,
        createdAt: true,
        startedAt: true,
        finishedAt: true,
        error: true,
        workflow: { select: { name: true } },
        version: { select: { number: true } },
        owner: { select: { name: true, displayName: true } },
      },
    }),
    db.run.count({ where }),
  ])
  const items = rows.slice(0, limit)
  const counts = items.length
    ? await db.task.groupBy({
        by: ['runId', 'state'],
        where: { runId: { in: items.map((r) => r.id) } },
        _count: { _all: true },
      })
    : []
  const byRun = new Map<string, Record<string, number>>()
  for (const c of counts) {
    const m = byRun.get(c.runId) ?? {}
    m[c.state] = c._count._all
    byRun.set(c.runId, m)
  }
  return {
    items: items.map((r) => {
      const c = byRun.get(r.id) ?? {}
      return {
        id: r.id,
        workflowId: r.workflowId,
        workflowName: r.workflow.name,
        versionId: r.versionId,
        versionNumber: r.version.number,
        state: r.state,
        backend: r.backend,
        strategy: r.strategy,
        source: r.source,
        createdAt: r.createdAt,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        durationMs: r.startedAt ? (r.finishedAt ?? new Date()).getTime() - r.startedAt.getTime() : null,
        error: r.error,
        owner: r.owner ? (r.owner.displayName ?? r.owner.name) : null,
        site: siteOf(r.options),
        counts: c,
        total: Object.values(c).reduce((a, b) => a + b, 0),
      }
    }),
    nextCursor: rows.length > limit ? rows[limit]!.id : null,
    /** runs matching the filters (all pages) */
    matching: total,
  }
}

/** the host whose engine owns the run (Run.options.owner.host), where its jobs were dispatched from */
function siteOf(options: string): string | null {
  try {
    const o = JSON.parse(options) as { owner?: { host?: unknown } }
    return typeof o.owner?.host === 'string' ? o.owner.host : null
  } catch {
    return null
  }
}

export async function getRun(db: Db, runId: string) {
  const run = await db.run.findUnique({
    where: { id: runId },
    include: { workflow: { select: { name: true } }, version: { select: { number: true } } },
  })
  if (!run) throw notFound(`run ${runId} not found`)
  const plan = JSON.parse(run.plan) as ExecutionPlan
  const grouped = await db.task.groupBy({ by: ['stageId', 'state'], where: { runId }, _count: { _all: true } })
  const stageCounts: Record<string, Record<string, number>> = {}
  for (const g of grouped) (stageCounts[g.stageId] ??= {})[g.state] = g._count._all
  const counts: Record<string, number> = {}
  for (const g of grouped) counts[g.state] = (counts[g.state] ?? 0) + g._count._all
  const workers = await db.worker.findMany({ where: { runId }, orderBy: { createdAt: 'asc' } })
  const lastEvent = await db.event.findFirst({ where: { runId }, orderBy: { id: 'desc' }, select: { id: true } })
  let options: Record<string, unknown> = {}
  try {
    options = JSON.parse(run.options)
  } catch {
    /* empty */
  }
  return {
    run: {
      id: run.id,
      workflowId: run.workflowId,
      workflowName: run.workflow.name,
      versionId: run.versionId,
      versionNumber: run.version.number,
      state: run.state as RunState,
      backend: run.backend,
      strategy: run.strategy,
      source: run.source,
      runDir: run.runDir,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      durationMs: run.startedAt ? (run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime() : null,
      error: run.error,
      reusedFrom: (options.reusedFrom as string | undefined) ?? null,
      rerunFromStage: (options.rerunFromStage as string | undefined) ?? null,
    },
    plan,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    stages: plan.stages.map((s) => {
      const c = stageCounts[s.id] ?? {}
      return {
        id: s.id,
        op: s.op,
        pool: s.pool,
        needs: s.needs,
        counts: c,
        total: Object.values(c).reduce((a, b) => a + b, 0),
        done: c.succeeded ?? 0,
      }
    }),
    pools: plan.pools.map((p) => ({
      name: p.name,
      workers: p.workers,
      resources: p.resources,
      stages: p.stages,
      live: workers.filter((w) => w.pool === p.name),
    })),
    lastEventId: lastEvent?.id ?? 0,
  }
}

export interface TaskListInput {
  runId: string
  state?: TaskState | TaskState[]
  pool?: string
  stage?: string
  /** a worker id */
  worker?: string
  /** also give each task's `queuedAt`: when its current attempt was handed to the batch system */
  withQueued?: boolean
  sort?: 'index' | 'duration' | '-duration' | 'started' | '-started' | 'state'
  cursor?: number | null
  limit?: number
}

export async function listTasks(db: Db, input: TaskListInput) {
  const limit = Math.min(Math.max(input.limit ?? 100, 1), 1000)
  const offset = Math.max(0, input.cursor ?? 0)
  const where = {
    runId: input.runId,
    ...(input.state ? { state: Array.isArray(input.state) ? { in: input.state } : input.state } : {}),
    ...(input.pool ? { pool: input.pool } : {}),
    ...(input.stage ? { stageId: input.stage } : {}),
    ...(input.worker ? { workerId: input.worker } : {}),
  }
  const orderBy =
    input.sort === 'duration'
      ? [{ durationMs: 'asc' as const }, { id: 'asc' as const }]
      : input.sort === '-duration'
        ? [{ durationMs: 'desc' as const }, { id: 'asc' as const }]
        : input.sort === 'started'
          ? [{ startedAt: 'asc' as const }, { id: 'asc' as const }]
          : input.sort === '-started'
            ? [{ startedAt: 'desc' as const }, { id: 'asc' as const }]
            : input.sort === 'state'
              ? [{ state: 'asc' as const }, { id: 'asc' as const }]
              : [{ createdAt: 'asc' as const }, { partitionIndex: 'asc' as const }, { id: 'asc' as const }]
  const [rows, total] = await Promise.all([
    db.task.findMany({ where, orderBy, skip: offset, take: limit + 1 }),
    db.task.count({ where }),
  ])
  const items = rows.slice(0, limit).map((t) => ({
    ...t,
    outputs: t.outputs ? (JSON.parse(t.outputs) as unknown) : null,
    metrics: t.metrics ? (JSON.parse(t.metrics) as unknown) : null,
    modifiers: t.modifiers ? (JSON.parse(t.modifiers) as unknown) : [],
  }))
  const queued = input.withQueued
    ? await queuedTimes(
        db,
        items.map((t) => t.id),
      )
    : null
  return {
    items: items.map((t) => ({ ...t, queuedAt: queued?.get(t.id) ?? null })),
    total,
    nextCursor: rows.length > limit ? offset + limit : null,
  }
}

/**
 * When each task last became `queued` (handed to the backend: a batch job waits in its queue from
 * then until `running`), from the task.state events: the timeline draws it before the bar.
 */
async function queuedTimes(db: Db, taskIds: string[]): Promise<Map<string, Date>> {
  const out = new Map<string, Date>()
  // SQLite takes at most 999 parameters per statement
  for (let i = 0; i < taskIds.length; i += 500) {
    const rows = await db.event.findMany({
      where: { taskId: { in: taskIds.slice(i, i + 500) }, type: 'task.state', payload: { contains: '"to":"queued"' } },
      orderBy: { id: 'asc' },
      select: { taskId: true, at: true },
    })
    for (const r of rows) if (r.taskId) out.set(r.taskId, r.at)
  }
  return out
}

// ------------------------------------------------------------------ logs (served from the task's files)

export interface LogInput {
  taskId: string
  stream: 'stdout' | 'stderr'
  offset?: number
  /** max bytes (default 64 KiB, at most 1 MiB) */
  limit?: number
  /** read the last `limit` bytes instead (offset ignored) */
  tail?: boolean
}

export async function readLog(db: Db, input: LogInput) {
  const task = await db.task.findUnique({
    where: { id: input.taskId },
    select: { id: true, runId: true, state: true, run: { select: { runDir: true, options: true } } },
  })
  if (!task) throw notFound(`task ${input.taskId} not found`)
  if (!task.run.runDir) throw notFound(`run ${task.runId} has no run directory`)
  const file = taskFiles(taskDirFor(task.run.runDir, task.id))[input.stream]
  const limit = Math.min(Math.max(input.limit ?? 65536, 1), 1 << 20)
  const done = task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled'
  // users mode: the task's directory is its OS user's: a link planted there is not followed
  const fh = await openTaskFile(file, runOwnerUid(task.run.options))
  if (!fh) return { text: '', offset: 0, nextOffset: 0, size: 0, eof: true, done, path: path.basename(file) }
  let size = 0
  let offset = 0
  let len = 0
  let buf = Buffer.alloc(0)
  let before: Buffer | null = null
  try {
    size = (await fh.stat()).size
    offset = input.tail ? Math.max(0, size - limit) : Math.max(0, input.offset ?? 0)
    if (offset > size) offset = size
    len = Math.min(limit, size - offset)
    buf = Buffer.alloc(len)
    await fh.read(buf, 0, len, offset)
    // a chunk that starts inside a PEM block is redacted with the block's start (redactChunk)
    if (offset > 0) {
      const back = Math.min(offset, 64 * 1024)
      before = Buffer.alloc(back)
      await fh.read(before, 0, back, offset - back)
    }
  } finally {
    await fh.close()
  }
  // do not cut a UTF-8 character in two: stop before an incomplete trailing sequence
  let end = len
  if (offset + len < size) {
    let i = len - 1
    while (i >= 0 && i >= len - 4 && (buf[i]! & 0xc0) === 0x80) i--
    const lead = buf[i]
    if (lead !== undefined && lead >= 0xc0) {
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2
      if (len - i < need) end = i
    }
  }
  let text = buf.subarray(0, end).toString('utf8')
  // a token cut by the chunk's end would leak its head here and its tail in the next chunk:
  // stop before a trailing run of token characters (it is read whole next time)
  if (offset + end < size) {
    const tail = /[A-Za-z0-9_.+/=-]+$/.exec(text)
    if (tail && tail[0].length < text.length && tail[0].length <= 16384) {
      text = text.slice(0, text.length - tail[0].length)
      end -= tail[0].length // ASCII: one byte per character
    }
  }
  return {
    text: redactChunk(before, text),
    offset,
    nextOffset: offset + end,
    size,
    eof: offset + end >= size,
    done,
    path: path.basename(file),
  }
}

/**
 * Task output goes to the browser redacted (tokens, PEM blocks: redactSecrets). A chunk that
 * starts inside a PEM block (a follow-up read) is redacted with the block's start, found by
 * looking back before the offset.
 */
function redactChunk(before: Buffer | null, text: string): string {
  if (before) {
    const prev = before.toString('latin1')
    const b = prev.lastIndexOf('-----BEGIN ')
    if (b >= 0 && b > prev.lastIndexOf('-----END ')) return redactSecrets(before.subarray(b).toString('utf8') + text)
  }
  return redactSecrets(text)
}

/** the absolute path of a task's log file, and the uid it must belong to (users mode; openTaskFile) */
export async function logFilePath(
  db: Db,
  taskId: string,
  stream: 'stdout' | 'stderr',
): Promise<{ file: string; ownerUid: number | null }> {
  const task = await db.task.findUnique({
    where: { id: taskId },
    select: { id: true, run: { select: { runDir: true, options: true } } },
  })
  if (!task?.run.runDir) throw notFound(`task ${taskId} not found`)
  return { file: taskFiles(taskDirFor(task.run.runDir, task.id))[stream], ownerUid: runOwnerUid(task.run.options) }
}

// ------------------------------------------------------------------ control

async function runRow(eng: RunEngine, runId: string) {
  const r = await eng.db.run.findUnique({
    where: { id: runId },
    select: { id: true, state: true, options: true, ownerId: true },
  })
  if (!r) throw notFound(`run ${runId} not found`)
  return r
}

/** FORBIDDEN unless the actor owns the run (or is an admin, or token mode) */
async function assertMayControl(eng: RunEngine, actor: Actor | undefined, runId: string, what: string) {
  const r = await runRow(eng, runId)
  await assertMayChange(eng.db, actorOr(actor), { ownerId: r.ownerId, label: `run ${runId}` }, what)
  return r
}

const FINISHED: ReadonlySet<string> = TERMINAL_RUN_STATES

export async function cancelRun(
  input: { runId: string; actor?: Actor },
  engine?: RunEngine,
): Promise<{ runId: string; forwarded: boolean }> {
  const eng = engineOf(engine)
  const { runId } = input
  await assertMayControl(eng, input.actor, runId, 'cancel it')
  if (eng.isActive(runId)) {
    await eng.cancelRun(runId)
    return { runId, forwarded: false }
  }
  const r = await runRow(eng, runId)
  if (FINISHED.has(r.state)) throw badInput(`run ${runId} is already ${r.state}`)
  if (eng.ownedElsewhere(r.options)) {
    await eng.requestControl(runId, 'cancel')
    return { runId, forwarded: true }
  }
  await eng.adopt(runId)
  await eng.cancelRun(runId)
  return { runId, forwarded: false }
}

async function taskRow(eng: RunEngine, taskId: string) {
  const t = await eng.db.task.findUnique({ where: { id: taskId }, select: { id: true, runId: true, state: true } })
  if (!t) throw notFound(`task ${taskId} not found`)
  return t
}

export async function cancelTask(
  input: { taskId: string; actor?: Actor },
  engine?: RunEngine,
): Promise<{ taskId: string; forwarded: boolean }> {
  const eng = engineOf(engine)
  const { taskId } = input
  const t = await taskRow(eng, taskId)
  await assertMayControl(eng, input.actor, t.runId, `cancel its task ${taskId}`)
  if (eng.isActive(t.runId)) {
    await eng.cancelTask(t.runId, taskId).catch((e) => {
      throw badInput((e as Error).message)
    })
    return { taskId, forwarded: false }
  }
  const r = await runRow(eng, t.runId)
  if (FINISHED.has(r.state)) throw badInput(`run ${t.runId} is already ${r.state}`)
  if (eng.ownedElsewhere(r.options)) {
    await eng.requestControl(t.runId, 'cancelTask', taskId)
    return { taskId, forwarded: true }
  }
  await eng.adopt(t.runId)
  await eng.cancelTask(t.runId, taskId)
  return { taskId, forwarded: false }
}

export async function retryTask(
  input: { taskId: string; actor?: Actor },
  engine?: RunEngine,
): Promise<{ taskId: string; forwarded: boolean }> {
  const eng = engineOf(engine)
  const { taskId } = input
  const t = await taskRow(eng, taskId)
  await assertMayControl(eng, input.actor, t.runId, `retry its task ${taskId}`)
  if (t.state !== 'failed' && t.state !== 'cancelled' && t.state !== 'lost')
    throw badInput(`task ${taskId} is ${t.state}: only failed, cancelled or lost tasks can be retried`)
  if (!eng.isActive(t.runId)) {
    const r = await runRow(eng, t.runId)
    if (!FINISHED.has(r.state) && eng.ownedElsewhere(r.options)) {
      await eng.requestControl(t.runId, 'retryTask', taskId)
      return { taskId, forwarded: true }
    }
  }
  try {
    await eng.retryTask(t.runId, taskId)
  } catch (e) {
    throw badInput((e as Error).message)
  }
  return { taskId, forwarded: false }
}

/**
 * Re-run from a stage: a NEW run of the same frozen plan. Tasks of stages that are not downstream
 * of `stageId` and succeeded in the old run are reused (copied as succeeded); the stage and
 * everything downstream of it (and anything upstream that did not succeed) run again.
 */
export async function rerunFrom(
  input: { runId: string; stageId: string; source?: 'ui' | 'cli' | 'api'; actor?: Actor },
  engine?: RunEngine,
): Promise<{ runId: string }> {
  const eng = engineOf(engine)
  const actor = actorOr(input.actor)
  const old = await eng.db.run.findUnique({ where: { id: input.runId } })
  if (!old) throw notFound(`run ${input.runId} not found`)
  await assertMayChange(eng.db, actor, { ownerId: old.ownerId, label: `run ${input.runId}` }, 're-run it')
  const plan = JSON.parse(old.plan) as ExecutionPlan
  const runAs = runAsFor(actor, plan)
  if (!plan.stages.some((s) => s.id === input.stageId))
    throw badInput(
      `run ${input.runId} has no stage '${input.stageId}' (stages: ${plan.stages.map((s) => s.id).join(', ')})`,
    )
  // the stage and everything downstream of it
  const down = new Set<string>([input.stageId])
  for (let changed = true; changed; ) {
    changed = false
    for (const s of plan.stages)
      if (!down.has(s.id) && s.needs.some((n) => down.has(n))) down.add(s.id), (changed = true)
  }
  const oldTasks = await eng.db.task.findMany({ where: { runId: old.id, state: 'succeeded' } })
  const reuse = reusedTasks(
    oldTasks.filter((t) => !down.has(t.stageId)),
    old.runDir,
  )
  try {
    const r = await eng.createRun({
      workflowId: old.workflowId,
      versionId: old.versionId,
      plan,
      source: input.source ?? 'api',
      ownerId: await actorUserId(eng.db, actor),
      options: { reusedFrom: old.id, rerunFromStage: input.stageId, ...(runAs ? { runAs } : {}) },
      reuse: { fromRunId: old.id, tasks: reuse },
    })
    return { runId: r.runId }
  } catch (e) {
    refused(e)
  }
}

/**
 * Events of a run (or of every run: runId null) after `afterId` and at most `upTo`, in id order:
 * the stream's reads (server/execution/stream.ts) and the CLI's progress. `control` events stay
 * between processes.
 */
export async function eventsSince(db: Db, runId: string | null, afterId: number, limit = 5000, upTo?: number) {
  const rows = await db.event.findMany({
    where: {
      ...(runId ? { runId } : {}),
      id: upTo === undefined ? { gt: afterId } : { gt: afterId, lte: upTo },
      type: { not: 'control' },
    },
    orderBy: { id: 'asc' },
    take: limit,
  })
  // events cross a process boundary here (another process may have written them): checked, and
  // an event this version does not understand is left out rather than folded wrongly
  const out: RunEvent[] = []
  for (const r of rows) {
    const e = safeParseRunEvent({
      id: r.id,
      runId: r.runId,
      at: r.at.toISOString(),
      type: r.type,
      taskId: r.taskId,
      workerId: r.workerId,
      payload: JSON.parse(r.payload) as unknown,
    })
    if (e) out.push(e)
  }
  return out
}

/** the id of the last stored event of a run (or of any run), 0 if none */
export async function lastEventIdOf(db: Db, runId: string | null): Promise<number> {
  const row = await db.event.findFirst({
    where: runId ? { runId } : {},
    orderBy: { id: 'desc' },
    select: { id: true },
  })
  return row?.id ?? 0
}

type SucceededTask = {
  id: string
  stageId: string
  partitionKey: string | null
  reason: string | null
  message: string | null
  outputs: string | null
  metrics: string | null
  exitCode: number | null
  startedAt: Date | null
  finishedAt: Date | null
  durationMs: number | null
}

/**
 * The succeeded tasks of an earlier run, as a new run reuses them (keyed by stage and partition).
 * A task the old run had itself reused keeps pointing at the run that produced it.
 */
export function reusedTasks(tasks: readonly SucceededTask[], oldRunDir: string | null) {
  return new Map(
    tasks.map((t) => [
      `${t.stageId}\0${t.partitionKey ?? ''}`,
      {
        taskDir: t.reason?.startsWith('reused from run ') && t.message ? t.message : taskDirFor(oldRunDir ?? '', t.id),
        outputs: t.outputs,
        metrics: t.metrics,
        exitCode: t.exitCode,
        startedAt: t.startedAt,
        finishedAt: t.finishedAt,
        durationMs: t.durationMs,
      },
    ]),
  )
}
