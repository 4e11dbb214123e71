/**
 * "Fix and resume" (Dagster's re-execute from failure, with the fix in between): after a run
 * failed, the user edits the workflow and saves a new version; the new run reuses every task
 * that succeeded in the failed run when its stage is unchanged, and runs the rest.
 *
 * `decideResume` (pure) compares stage DEFINITIONS of the failed run's frozen plan and the new
 * plan. A stage's tasks are reused when
 *   - the stage exists in both plans,
 *   - its definition is identical: op, params, inputs, needs, modifiers, the registry entry of
 *     its op and the datasets it reads (where it runs, its pool and resources, does not change
 *     what it computes and is not compared),
 *   - the worker environment is identical,
 *   - every upstream stage is reused WHOLE (all its tasks succeeded and are reused): a stage
 *     downstream of anything that runs again must run again on the new inputs,
 *   - and the task itself succeeded (partitions are matched by partition key).
 * Each stage gets a sentence saying why it is reused or not.
 *
 * `resumeRun` starts that new run (the reuse mechanism is the engine's, as for rerunFrom).
 */
import type { Db } from '../db/client.ts'
import { DomainError, badInput, notFound } from '../errors.ts'
import { compileForRun } from '../library/workflows.ts'
import { canonicalJson } from '../workflow/index.ts'
import type { ExecutionPlan, PlanStage } from '../workflow/types.ts'
import { type Actor, actorUserId, assertMayChange } from '../library/policy.ts'
import { getEngine, RunRefusedError, type RunEngine } from './engine.ts'
import { actorOr, reusedTasks, runAsFor } from './runs.ts'

export type ResumeVerdict = 'reused' | 'partly-reused' | 'changed' | 'upstream-reruns' | 'not-succeeded' | 'new'

export interface StageResumeDecision {
  stageId: string
  verdict: ResumeVerdict
  /** tasks of the old run that the new run takes over as succeeded */
  reusedTasks: number
  /** tasks of this stage in the old run */
  oldTasks: number
  /** why, in one sentence */
  reason: string
  /** the definition keys that differ (verdict `changed`) */
  changes: string[]
}

export interface ResumeDecision {
  stages: StageResumeDecision[]
  /** stage ids reused whole */
  reused: string[]
  /** stage ids that run again (some or all of their tasks) */
  rerun: string[]
  /** stages of the old run that the new plan no longer has */
  removed: string[]
}

/** per stage of the old run: tasks and how many succeeded */
export type StageTaskCounts = Record<string, { total: number; succeeded: number }>

/** the parts of a stage that decide what it computes, keyed by name (compared as canonical JSON) */
export function stageDefinition(stage: PlanStage, plan: ExecutionPlan): Record<string, unknown> {
  const p = stage.params ?? {}
  const readsDatasets =
    typeof p.dataset === 'string'
      ? [p.dataset]
      : Array.isArray(p.datasets)
        ? p.datasets.map(String)
        : stage.op.startsWith('hep.')
          ? (plan.datasets ?? []).map((d) => d.name)
          : []
  return {
    op: stage.op,
    params: p,
    inputs: stage.inputs ?? [],
    needs: [...stage.needs].sort(),
    modifiers: stage.modifiers ?? [],
    registry: plan.registry?.ops?.[stage.op] ?? null,
    datasets: readsDatasets.map((name) => plan.datasets?.find((d) => d.name === name) ?? name),
  }
}

function definitionChanges(a: PlanStage, aPlan: ExecutionPlan, b: PlanStage, bPlan: ExecutionPlan): string[] {
  const da = stageDefinition(a, aPlan)
  const db = stageDefinition(b, bPlan)
  const out: string[] = []
  for (const key of Object.keys(da)) {
    if (key === 'params') {
      const pa = (da.params ?? {}) as Record<string, unknown>
      const pb = (db.params ?? {}) as Record<string, unknown>
      for (const k of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort())
        if (canonicalJson(pa[k]) !== canonicalJson(pb[k])) out.push(`params.${k}`)
    } else if (canonicalJson(da[key]) !== canonicalJson(db[key])) out.push(key)
  }
  return out
}

/** which stages of `newPlan` reuse the succeeded tasks of the failed run (see the file comment) */
export function decideResume(oldPlan: ExecutionPlan, newPlan: ExecutionPlan, counts: StageTaskCounts): ResumeDecision {
  const oldById = new Map(oldPlan.stages.map((s) => [s.id, s]))
  const envChanged = canonicalJson(oldPlan.environment ?? null) !== canonicalJson(newPlan.environment ?? null)
  /** stages reused whole: their downstream may be reused too */
  const whole = new Set<string>()
  const stages: StageResumeDecision[] = []
  // newPlan.stages is in topological order: upstream decisions are known when a stage is decided
  for (const stage of newPlan.stages) {
    const old = oldById.get(stage.id)
    const c = counts[stage.id] ?? { total: 0, succeeded: 0 }
    const base = { stageId: stage.id, oldTasks: c.total, reusedTasks: 0, changes: [] as string[] }
    if (!old) {
      stages.push({ ...base, verdict: 'new', reason: 'new stage: it was not in the failed run' })
      continue
    }
    const changes = definitionChanges(old, oldPlan, stage, newPlan)
    if (changes.length) {
      stages.push({ ...base, verdict: 'changed', changes, reason: `its definition changed: ${changes.join(', ')}` })
      continue
    }
    if (envChanged) {
      stages.push({
        ...base,
        verdict: 'changed',
        changes: ['environment'],
        reason: 'the worker environment (execution.environment) changed',
      })
      continue
    }
    const rerunUpstream = stage.needs.filter((n) => !whole.has(n))
    if (rerunUpstream.length) {
      stages.push({
        ...base,
        verdict: 'upstream-reruns',
        reason: `upstream ${rerunUpstream.length === 1 ? 'stage' : 'stages'} ${rerunUpstream.join(', ')} ${rerunUpstream.length === 1 ? 'runs' : 'run'} again, so its inputs change`,
      })
      continue
    }
    if (c.succeeded === 0) {
      stages.push({
        ...base,
        verdict: 'not-succeeded',
        reason: c.total
          ? 'unchanged, but none of its tasks succeeded in the failed run'
          : 'unchanged, but it never ran',
      })
      continue
    }
    if (c.succeeded < c.total) {
      stages.push({
        ...base,
        verdict: 'partly-reused',
        reusedTasks: c.succeeded,
        reason: `unchanged: ${c.succeeded} of ${c.total} tasks succeeded and are reused, the other ${c.total - c.succeeded} run again`,
      })
      continue
    }
    whole.add(stage.id)
    stages.push({
      ...base,
      verdict: 'reused',
      reusedTasks: c.succeeded,
      reason: `unchanged and succeeded (${c.succeeded} ${c.succeeded === 1 ? 'task' : 'tasks'}): outputs reused`,
    })
  }
  const newIds = new Set(newPlan.stages.map((s) => s.id))
  return {
    stages,
    reused: stages.filter((s) => s.verdict === 'reused').map((s) => s.stageId),
    rerun: stages.filter((s) => s.verdict !== 'reused').map((s) => s.stageId),
    removed: oldPlan.stages.filter((s) => !newIds.has(s.id)).map((s) => s.id),
  }
}

// ------------------------------------------------------------------ with the database

async function loadResume(db: Db, runId: string, versionId: string) {
  const old = await db.run.findUnique({ where: { id: runId } })
  if (!old) throw notFound(`run ${runId} not found`)
  if (old.state !== 'failed' && old.state !== 'cancelled')
    throw badInput(`run ${runId} is ${old.state}: only a failed or cancelled run can be resumed`)
  const version = await db.workflowVersion.findUnique({
    where: { id: versionId },
    select: { id: true, workflowId: true, yaml: true, valid: true, number: true, errorCount: true },
  })
  if (!version) throw notFound(`workflow version ${versionId} not found`)
  if (version.workflowId !== old.workflowId)
    throw badInput(`version ${versionId} belongs to another workflow than run ${runId}: resume from its own workflow`)
  const oldPlan = JSON.parse(old.plan) as ExecutionPlan
  const newPlan = compileForRun(version)
  let options: Record<string, unknown> = {}
  try {
    options = JSON.parse(old.options) as Record<string, unknown>
  } catch {
    /* none */
  }
  // the failed run's launch choices (backend/strategy) carry over
  const overrides = (options.overrides ?? null) as { backend?: string; strategy?: string } | null
  const plan: ExecutionPlan = overrides
    ? {
        ...newPlan,
        backend: (overrides.backend ?? newPlan.backend) as ExecutionPlan['backend'],
        strategy: (overrides.strategy ?? newPlan.strategy) as ExecutionPlan['strategy'],
      }
    : newPlan
  const grouped = await db.task.groupBy({ by: ['stageId', 'state'], where: { runId }, _count: { _all: true } })
  const counts: StageTaskCounts = {}
  for (const g of grouped) {
    const c = (counts[g.stageId] ??= { total: 0, succeeded: 0 })
    c.total += g._count._all
    if (g.state === 'succeeded') c.succeeded += g._count._all
  }
  return { old, version, oldPlan, plan, overrides, decision: decideResume(oldPlan, plan, counts) }
}

/** what a resume of `runId` with `versionId` would reuse, and why (shown before starting) */
export async function previewResume(db: Db, input: { runId: string; versionId: string }) {
  const { decision, version } = await loadResume(db, input.runId, input.versionId)
  return { versionId: version.id, versionNumber: version.number, ...decision }
}

/** starts the resumed run: reused stages' succeeded tasks are copied as succeeded (their outputs kept) */
export async function resumeRun(
  input: { runId: string; versionId: string; source?: 'ui' | 'cli' | 'api'; actor?: Actor },
  engine?: RunEngine,
): Promise<{ runId: string } & ResumeDecision> {
  const eng = engine ?? getEngine()
  const actor = actorOr(input.actor)
  const { old, version, plan, overrides, decision } = await loadResume(eng.db, input.runId, input.versionId)
  // as for rerunFrom: only the run's owner (or an admin) resumes it, and its tasks run as the actor's OS user
  await assertMayChange(eng.db, actor, { ownerId: old.ownerId, label: `run ${input.runId}` }, 'resume it')
  const runAs = runAsFor(actor, plan)
  const reusable = new Set(
    decision.stages.filter((s) => s.verdict === 'reused' || s.verdict === 'partly-reused').map((s) => s.stageId),
  )
  const succeeded = await eng.db.task.findMany({
    where: { runId: old.id, state: 'succeeded', stageId: { in: [...reusable] } },
  })
  const tasks = reusedTasks(succeeded, old.runDir)
  try {
    const r = await eng.createRun({
      workflowId: version.workflowId,
      versionId: version.id,
      plan,
      source: input.source ?? 'api',
      ownerId: await actorUserId(eng.db, actor),
      options: {
        ...(runAs ? { runAs } : {}),
        reusedFrom: old.id,
        ...(overrides ? { overrides } : {}),
        resumedFrom: {
          runId: old.id,
          stages: decision.stages.map((s) => ({ stageId: s.stageId, verdict: s.verdict, reason: s.reason })),
        },
      } as Record<string, unknown>,
      reuse: { fromRunId: old.id, tasks },
    })
    return { runId: r.runId, ...decision }
  } catch (e) {
    if (e instanceof RunRefusedError) throw new DomainError('NOT_RUNNABLE', e.message, { problems: e.problems })
    throw e
  }
}
