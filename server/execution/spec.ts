/** Builds the TaskSpec (spec.json) of one attempt of a task from the frozen plan. */
import {
  closeSync,
  constants,
  fchownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import path from 'node:path'
import type { ExecutionPlan, PlanStage } from '../workflow/types.ts'
import { getModifier } from './modifiers.ts'
import { OpError, resolveOpDefinition } from './ops.ts'
import { runtimeArgv, taskDirFor, taskFiles } from './paths.ts'
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
 * The run directory is that user's too, so a task of the run can plant links there before the
 * server (root) writes: a retried task's directory swapped for a link to /etc would have root
 * chown /etc to the user. So in users mode nothing here follows a link: the task directory must be
 * a real directory (a link is removed and the directory made afresh), the spec is written to a new
 * file (O_EXCL: a planted name fails, it is not followed) and ownership is given with lchown/fchown.
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
  realDirectory(path.dirname(dir))
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    if (!lstatSync(dir).isDirectory()) {
      unlinkSync(dir)
      mkdirSync(dir, { mode: 0o700 })
    }
  }
  lchownSync(dir, runAs.uid, runAs.gid)
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

/** a directory under the run directory must be one, not a link a task planted */
function realDirectory(dir: string): void {
  const st = lstatSync(dir)
  if (!st.isDirectory())
    throw new Error(`${dir} is not a directory (a link or file was put there): the task is not started`)
}
