/** Builds the TaskSpec (spec.json) of one attempt of a task from the frozen plan. */
import {
  closeSync,
  constants,
  fchownSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import type { ExecutionPlan, PlanStage } from '../workflow/types.ts'
import { getModifier } from './modifiers.ts'
import { OpError, resolveOpDefinition } from './ops.ts'
import { runtimeArgv, taskDirFor, taskFiles } from './paths.ts'
import { makeUserDirectory } from './user-files.ts'
import type { DispatchTask, RunAs, TaskLaunch, TaskSpec } from './types.ts'

export interface SpecInput {
  plan: ExecutionPlan
  stage: PlanStage
  runId: string
  runDir: string
  taskId: string
  attempt: number
  partition: { key: string; index: number; data?: Record<string, unknown> } | null
  /** upstream stage id -> task directories of its tasks (for CONTROLROOM_INPUTS) */
  inputs: Record<string, string[]>
}

export function buildDispatch(input: SpecInput): DispatchTask {
  const { plan, stage, runId, runDir, taskId, attempt } = input
  const def = resolveOpDefinition(plan, stage.op)
  if (!def) throw new OpError(`op '${stage.op}' is not registered`)
  const taskDir = taskDirFor(runDir, taskId)
  const files = taskFiles(taskDir)
  const r = def.resolve({ plan, stage, runId, taskId, runDir, taskDir, attempt, partition: input.partition })
  const spec: TaskSpec = {
    version: 1,
    runId,
    taskId,
    stageId: stage.id,
    pool: stage.pool,
    attempt,
    op: stage.op,
    argv: r.module ? [] : r.argv,
    module: r.module ?? null,
    env: {
      ...(r.env ?? {}),
      CONTROLROOM_POOL: stage.pool,
      ...(input.partition
        ? { CONTROLROOM_PARTITION: input.partition.key, CONTROLROOM_PARTITION_INDEX: String(input.partition.index) }
        : {}),
      ...(Object.keys(input.inputs).length ? { CONTROLROOM_INPUTS: JSON.stringify(input.inputs) } : {}),
    },
    cwd: r.cwd ?? taskDir,
    taskDir,
    runDir,
    stdoutPath: files.stdout,
    stderrPath: files.stderr,
    resultPath: files.result,
    timeoutSeconds: stage.timeoutSeconds ?? null,
    collect: { profile: false, diagnostics: false, rssSampleMs: 0 },
    outputsPath: files.outputs,
    modifiers: stage.modifiers ?? [],
    metadata: { partition: input.partition, params: stage.params ?? {} },
  }
  const pool = plan.pools.find((p) => p.name === stage.pool)
  for (const m of stage.modifiers ?? []) {
    const mod = getModifier(m.name)
    if (!mod) throw new OpError(`modifier '${m.name}' is not registered`)
    mod.apply({ spec, stage, pool, params: m.params ?? {} })
  }
  const launch: TaskLaunch = {
    runId,
    taskId,
    attempt,
    stageId: stage.id,
    pool: stage.pool,
    taskDir,
    specPath: files.spec,
    argv: runtimeArgv(files.spec),
    env: { CONTROLROOM_RUN_ID: runId, CONTROLROOM_TASK_ID: taskId, CONTROLROOM_ATTEMPT: String(attempt) },
    timeoutSeconds: spec.timeoutSeconds,
  }
  return { launch, spec, inProcess: !!r.inProcess && spec.argv.length === 0 && !spec.module }
}

/**
 * Writes spec.json into the task directory. With runAs (users mode), the directory and the spec
 * are that user's, 0700/0600: the task (a batch job running as that user) reads its spec and
 * writes its logs and result there, and no other account can read them.
 *
 * In users mode the task directory is made by root in tasks/, which is root's (user-files.ts): no
 * name on the way can be a link a task of the run put there. Inside it (the user's) the spec is
 * written to a new file (O_EXCL | O_NOFOLLOW: a planted name fails, it is not followed), its
 * ownership given with fchown, and renamed into place.
 */
export function writeSpec(task: DispatchTask, runAs?: RunAs | null): void {
  const dir = task.launch.taskDir
  const tmp = `${task.launch.specPath}.tmp`
  if (!runAs) {
    mkdirSync(dir, { recursive: true })
    writeFileSync(tmp, JSON.stringify(task.spec), { mode: 0o600 })
    renameSync(tmp, task.launch.specPath)
    return
  }
  makeUserDirectory(dir, runAs)
  rmSync(tmp, { force: true }) // a planted link is removed, never followed
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    writeSync(fd, JSON.stringify(task.spec))
    fchownSync(fd, runAs.uid, runAs.gid)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, task.launch.specPath)
}
