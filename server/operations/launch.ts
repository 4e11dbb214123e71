/**
 * Start a run of a saved version with run parameters (server/operations/parameters.ts): the
 * overrides are applied to the version's YAML, compiled for a run (errors refuse the start, with
 * their messages), and recorded on the run (`options.parameters`), which keeps the version it
 * came from. The run page shows them.
 */
import type { Db } from '../db/client.ts'
import { getEngine, RunRefusedError, type RunEngine } from '../execution/engine.ts'
import { actorOr, runAsFor } from '../execution/runs.ts'
import { type Actor, actorUserId, assertMayChange } from '../library/policy.ts'
import { DomainError, notFound } from '../errors.ts'
import { compileWorkflow } from '../workflow/index.ts'
import type { Problem } from '../workflow/types.ts'
import { applyParameters, type RunParameter } from './parameters.ts'

export async function launchRun(
  input: { versionId: string; parameters: RunParameter[]; source?: 'ui' | 'cli' | 'api'; actor?: Actor },
  engine?: RunEngine,
): Promise<{ runId: string; warnings: { pool: string | null; message: string; hint?: string }[] }> {
  const eng = engine ?? getEngine()
  const version = await eng.db.workflowVersion.findUnique({
    where: { id: input.versionId },
    select: {
      id: true,
      workflowId: true,
      yaml: true,
      valid: true,
      number: true,
      workflow: { select: { name: true, ownerId: true } },
    },
  })
  if (!version) throw notFound(`workflow version ${input.versionId} not found`)
  // as for run.start: only the workflow's owner (or an admin) runs it
  const actor = actorOr(input.actor)
  await assertMayChange(
    eng.db,
    actor,
    { ownerId: version.workflow.ownerId, label: `workflow "${version.workflow.name}"` },
    'run it (duplicate it to run your own copy)',
  )
  if (!version.valid)
    throw new DomainError('NOT_RUNNABLE', `version ${version.number} has errors: fix them in the composer first`)
  const yaml = applyParameters(version.yaml, input.parameters)
  const compiled = compileWorkflow(yaml, { forRun: true })
  const errors = compiled.problems.filter((p: Problem) => p.severity === 'error')
  if (!compiled.plan || errors.length)
    throw new DomainError(
      'NOT_RUNNABLE',
      `with these parameters the workflow does not compile: ${errors.map((p) => `${p.path.join('.') || 'workflow'}: ${p.message}`).join('; ')}`,
      {
        problems: errors.map((p) => ({
          code: p.code,
          severity: p.severity,
          pool: null,
          message: p.message,
          hint: p.hint,
        })),
      },
    )
  const runAs = runAsFor(actor, compiled.plan)
  try {
    return await eng.createRun({
      workflowId: version.workflowId,
      versionId: version.id,
      plan: compiled.plan,
      source: input.source ?? 'api',
      ownerId: await actorUserId(eng.db, actor),
      options: { parameters: input.parameters, ...(runAs ? { runAs } : {}) },
    })
  } catch (e) {
    if (e instanceof RunRefusedError) throw new DomainError('NOT_RUNNABLE', e.message, { problems: e.problems })
    throw e
  }
}

export interface RunOrigin {
  /** run parameters given at launch */
  parameters: { key: string; value: string }[]
  /** backend / strategy chosen at launch */
  overrides: { backend?: string; strategy?: string } | null
  /** fix and resume: the failed run and the decision per stage */
  resumedFrom: { runId: string; stages: { stageId: string; verdict: string; reason: string }[] } | null
}

/** how a run was launched (parameters, overrides, resume), from its recorded options */
export async function runOrigin(db: Db, runId: string): Promise<RunOrigin> {
  const run = await db.run.findUnique({ where: { id: runId }, select: { options: true } })
  if (!run) throw notFound(`run ${runId} not found`)
  let o: Record<string, unknown> = {}
  try {
    o = JSON.parse(run.options) as Record<string, unknown>
  } catch {
    /* none */
  }
  return {
    parameters: Array.isArray(o.parameters) ? (o.parameters as RunOrigin['parameters']) : [],
    overrides: (o.overrides as RunOrigin['overrides']) ?? null,
    resumedFrom: (o.resumedFrom as RunOrigin['resumedFrom']) ?? null,
  }
}
