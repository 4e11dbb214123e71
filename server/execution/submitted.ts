/**
 * What was actually submitted, after dispatch (run page): the job script of a task as recorded in
 * its `task.submitted` event (Slurm: jobRef.data.scriptPath; HTCondor: scriptPath + submitPath),
 * read only when the file is inside the task's run directory; and the Dask session of a run
 * (scheduler, dashboard, workers per pool with their batch job ids) from <runDir>/dask/session.json.
 */
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import { badInput, notFound } from '../errors.ts'
import type { DaskSessionStatus } from './backends/dask/session.ts'
import { isInside } from './paths.ts'
import type { JobRef } from './types.ts'
import { openTaskFile, runOwnerUid } from './task-file.ts'
import { readTaskJson } from './user-files.ts'

/** at most this much of a script is returned */
const MAX_SCRIPT_BYTES = 256 * 1024

export interface JobScriptFile {
  /** `job script` | `submit description` */
  label: string
  /** path relative to the run directory */
  path: string
  text: string
  truncated: boolean
}

export interface TaskJobScript {
  taskId: string
  runId: string
  state: string
  attempt: number
  pool: string
  batchJobId: string | null
  workerId: string | null
  host: string | null
  reason: string | null
  /** the strategy of the run (local, slurm, htcondor) */
  strategy: string
  backend: string
  /** the attempt the files belong to (null: the task was never submitted) */
  submittedAttempt: number | null
  files: JobScriptFile[]
  /** why there is no file (never submitted, local processes have no job script, ...) */
  note: string | null
}

/**
 * Resolves `file` (absolute, or relative to the run directory) and refuses anything outside the run
 * directory, symlinks included. Exported for tests.
 */
export async function resolveInsideRunDir(runDir: string, file: string): Promise<string> {
  const root = path.resolve(runDir)
  const abs = path.resolve(root, file)
  if (!isInside(root, abs)) throw badInput(`the recorded job script ${file} is outside the run directory: not shown`)
  let realRoot = root
  try {
    realRoot = await realpath(root)
  } catch {
    throw notFound(`the run directory ${runDir} no longer exists`)
  }
  let real: string
  try {
    real = await realpath(abs)
  } catch {
    throw notFound(`the job script ${path.relative(root, abs)} no longer exists in the run directory`)
  }
  if (!isInside(realRoot, real))
    throw badInput(`the recorded job script ${file} resolves outside the run directory: not shown`)
  return real
}

/**
 * The script, not through a link and, in users mode, only the run's OS user's own file: its
 * directory is that user's, whose task could swap the file for a link after the path was checked
 */
async function readCapped(file: string, ownerUid: number | null): Promise<{ text: string; truncated: boolean }> {
  const fh = await openTaskFile(file, ownerUid)
  if (!fh) throw notFound(`the job script ${path.basename(file)} is not a file of the run's user: not shown`)
  try {
    const size = (await fh.stat()).size
    const len = Math.min(size, MAX_SCRIPT_BYTES)
    const buf = Buffer.alloc(len)
    await fh.read(buf, 0, len, 0)
    return { text: buf.toString('utf8'), truncated: size > len }
  } finally {
    await fh.close()
  }
}

/** the job script (and submit description) submitted for a task's last submitted attempt */
export async function readTaskJobScript(db: Db, taskId: string): Promise<TaskJobScript> {
  const task = await db.task.findUnique({
    where: { id: taskId },
    select: {
      id: true,
      runId: true,
      state: true,
      attempt: true,
      pool: true,
      batchJobId: true,
      workerId: true,
      host: true,
      reason: true,
      run: { select: { runDir: true, strategy: true, backend: true, options: true } },
    },
  })
  if (!task) throw notFound(`task ${taskId} not found`)
  const out: TaskJobScript = {
    taskId: task.id,
    runId: task.runId,
    state: task.state,
    attempt: task.attempt,
    pool: task.pool,
    batchJobId: task.batchJobId,
    workerId: task.workerId,
    host: task.host,
    reason: task.reason,
    strategy: task.run.strategy,
    backend: task.run.backend,
    submittedAttempt: null,
    files: [],
    note: null,
  }
  const ev = await db.event.findFirst({
    where: { runId: task.runId, taskId: task.id, type: 'task.submitted' },
    orderBy: { id: 'desc' },
    select: { payload: true },
  })
  if (!ev) {
    out.note = 'the task has not been submitted yet'
    return out
  }
  let payload: { attempt?: number; jobRef?: JobRef } = {}
  try {
    payload = JSON.parse(ev.payload) as typeof payload
  } catch {
    /* unreadable event: no files */
  }
  out.submittedAttempt = typeof payload.attempt === 'number' ? payload.attempt : null
  const data = (payload.jobRef?.data ?? {}) as Record<string, unknown>
  const wanted: [string, unknown][] = [
    ['submit description', data.submitPath],
    ['job script', data.scriptPath],
  ]
  const paths = wanted.filter((w): w is [string, string] => typeof w[1] === 'string' && w[1].length > 0)
  if (!paths.length) {
    out.note =
      data.backend === 'dask'
        ? 'the task was handed to the Dask scheduler: it has no job script of its own (its pool’s worker jobs are in the Dask panel)'
        : `the ${task.run.strategy} strategy records no job script for this task (a local process runs the task runtime directly)`
    return out
  }
  if (!task.run.runDir) throw notFound(`run ${task.runId} has no run directory`)
  for (const [label, p] of paths) {
    const real = await resolveInsideRunDir(task.run.runDir, p)
    const { text, truncated } = await readCapped(real, runOwnerUid(task.run.options))
    out.files.push({ label, path: path.relative(await realpath(task.run.runDir), real), text, truncated })
  }
  return out
}

export interface RunBackendInfo {
  runId: string
  backend: string
  strategy: string
  /** the Dask session (null: not a dask run, or the session has not written its file yet) */
  dask: (DaskSessionStatus & { updatedAt: string | null }) | null
  note: string | null
}

/** backend-specific information of a run (the Dask session written by the dask backend) */
export async function runBackendInfo(db: Db, runId: string): Promise<RunBackendInfo> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { id: true, backend: true, strategy: true, runDir: true },
  })
  if (!run) throw notFound(`run ${runId} not found`)
  const info: RunBackendInfo = { runId: run.id, backend: run.backend, strategy: run.strategy, dask: null, note: null }
  if (run.backend !== 'dask') return info
  if (!run.runDir) {
    info.note = 'the run has no run directory'
    return info
  }
  try {
    // dask/ is the account's in users mode: its session file is read only as that user's own file,
    // never through a link (a link to the server's users.json would be read as root)
    const raw = readTaskJson<Partial<DaskSessionStatus> & { updatedAt?: string }>(
      path.join(run.runDir, 'dask'),
      'session.json',
    )
    if (!raw) {
      info.note = 'the Dask session has not started yet'
      return info
    }
    info.dask = {
      strategy: (raw.strategy ?? run.strategy) as DaskSessionStatus['strategy'],
      external: !!raw.external,
      python: raw.python ?? null,
      scheduler: {
        address: raw.scheduler?.address ?? null,
        dashboard: safeUrl(raw.scheduler?.dashboard ?? null),
        health: raw.scheduler?.health ?? null,
        pid: raw.scheduler?.pid ?? null,
      },
      pools: Array.isArray(raw.pools) ? raw.pools : [],
      updatedAt: raw.updatedAt ?? null,
    }
  } catch (e) {
    info.note =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'the Dask session has not started yet'
        : `cannot read the Dask session: ${(e as Error).message}`
  }
  return info
}

/** only http(s) links are handed to the page */
function safeUrl(u: string | null): string | null {
  if (!u) return null
  try {
    const url = new URL(u)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null
  } catch {
    return null
  }
}
