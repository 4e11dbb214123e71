/**
 * Slurm job states, pending reasons and exit codes: parsing (`squeue --json` of Slurm 21-24,
 * `sacct --parsable2`, `scontrol show job`) and mapping onto Control Room's worker and task states.
 * Pure: no I/O.
 */

export type WorkerState = 'requested' | 'pending-in-queue' | 'running' | 'gone'
export type TaskOutcome = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost'

/** a Slurm job as seen by one status source; one record per array element */
export interface SlurmJobRecord {
  /** Slurm's own job id of this job / array element (array elements get their own once they start) */
  jobId: string
  /** for array elements: the array's job id (what sbatch printed) */
  arrayJobId: string | null
  /** for array elements: the index */
  arrayTaskId: number | null
  name: string | null
  /** e.g. PENDING, RUNNING, COMPLETED, FAILED (first flag if Slurm gives several) */
  state: string
  /** Slurm's reason code (Priority, Resources, BadConstraints, ...) or null when None */
  reason: string | null
  /** raw wait status (squeue) or null */
  exitStatus: number | null
  /** decoded exit code and signal */
  exitCode: number | null
  signal: number | null
  startTime: number | null
  endTime: number | null
  nodes: string | null
  source: 'squeue' | 'sacct' | 'scontrol'
}

/** the state of a job mapped for the engine and the UI */
export interface MappedStatus {
  worker: WorkerState
  task: TaskOutcome
  /** terminal for the job */
  final: boolean
  /** text for the UI: the reason a job pends, or why it ended */
  reasonText: string | null
  /** when a pending reason can never resolve by waiting (impossible request): fail the task now */
  hopeless: boolean
}

// ---------------------------------------------------------------- exit codes

/** decode a raw wait status (squeue `exit_code`): 768 -> exit 3; 9 -> signal 9 */
export function decodeWaitStatus(status: number): { exitCode: number | null; signal: number | null } {
  const sig = status & 0x7f
  if (sig === 0) return { exitCode: (status >> 8) & 0xff, signal: null }
  if (sig === 0x7f) return { exitCode: null, signal: (status >> 8) & 0xff } // stopped
  return { exitCode: null, signal: sig }
}

/** decode `ExitCode=3:0` (exit:signal) from sacct/scontrol */
export function decodeExitPair(s: string | undefined | null): { exitCode: number | null; signal: number | null } {
  const m = /^(\d+):(\d+)$/.exec((s ?? '').trim())
  if (!m) return { exitCode: null, signal: null }
  const code = Number(m[1])
  const sig = Number(m[2])
  return sig ? { exitCode: null, signal: sig } : { exitCode: code, signal: null }
}

import { signalName } from '../batch/signals.ts'

export { signalName }

// ---------------------------------------------------------------- pending reasons

/** human explanations of Slurm's reason codes (shown with the code on the worker and task) */
export const REASON_TEXT: Record<string, string> = {
  Priority: 'waiting for jobs with higher priority',
  Resources: 'waiting for resources (cpus, memory or gpus) to become free',
  Dependency: 'waiting for the jobs it depends on',
  DependencyNeverSatisfied: 'a job it depends on failed: it can never start',
  BeginTime: 'waiting for its start time',
  BadConstraints: 'no node can satisfy the request (cpus, memory, gres or features)',
  PartitionConfig: 'the request exceeds what the partition allows (cpus, nodes or memory)',
  PartitionNodeLimit: 'the request needs more nodes than the partition allows',
  PartitionTimeLimit: 'the time limit exceeds the partition maximum',
  PartitionDown: 'the partition is down',
  PartitionInactive: 'the partition is inactive',
  NodeDown: 'a node the job needs is down',
  ReqNodeNotAvail: 'the requested or required nodes are not available (down, drained or reserved)',
  Reservation: 'waiting for its advance reservation',
  JobHeldUser: 'held by the user',
  JobHeldAdmin: 'held by an administrator',
  launch_failed_requeued_held: 'launch failed; requeued and held',
  InvalidAccount: 'the account is invalid',
  InvalidQOS: 'the QOS is invalid',
  AssociationJobLimit: 'the association job limit is reached',
  AssociationResourceLimit: 'the association resource limit is reached',
  AssociationTimeLimit: 'the association time limit is reached',
  QOSJobLimit: 'the QOS job limit is reached',
  QOSResourceLimit: 'the QOS resource limit is reached',
  QOSTimeLimit: 'the QOS time limit is reached',
  QOSMaxJobsPerUserLimit: 'the QOS limit on running jobs per user is reached',
  QOSMaxSubmitJobPerUserLimit: 'the QOS limit on submitted jobs per user is reached',
  QOSMaxCpuPerUserLimit: 'the QOS limit on cpus per user is reached',
  QOSMaxGRESPerUser: 'the QOS limit on GPUs/gres per user is reached',
  QOSMaxMemoryPerUser: 'the QOS limit on memory per user is reached',
  QOSGrpCpuLimit: 'the QOS group cpu limit is reached',
  QOSGrpMemLimit: 'the QOS group memory limit is reached',
  QOSGrpGRES: 'the QOS group gres limit is reached',
  AssocGrpCpuLimit: 'the account group cpu limit is reached',
  AssocGrpMemLimit: 'the account group memory limit is reached',
  AssocGrpGRES: 'the account group gres limit is reached',
  AssocMaxJobsLimit: 'the account limit on running jobs is reached',
  JobArrayTaskLimit: 'the array throttle (%N) is reached: waiting for other elements of the array',
  Licenses: 'waiting for licenses',
  Cleaning: 'the node is being cleaned up after a previous job',
  Prolog: 'the prolog is running',
  Configuring: 'the nodes are booting or being configured',
  NonZeroExitCode: 'the job exited with a non-zero exit code',
  TimeLimit: 'the job reached its time limit',
  JobLaunchFailure: 'the job could not be launched (or was killed by a signal right away)',
  OutOfMemory: 'the job ran out of memory',
  NodeFail: 'a node of the job failed',
  SystemFailure: 'Slurm failed',
  InactiveLimit: 'the job reached the inactive limit',
  Deadline: 'the job reached its deadline',
  BurstBufferStageIn: 'staging in burst buffer data',
  FrontEndDown: 'no front end node is available',
  None: '',
}

/**
 * Pending reasons that waiting cannot fix: the job is failed with the reason (and cancelled),
 * never left pending silently.
 */
export const HOPELESS_REASONS = new Set([
  'BadConstraints',
  'PartitionConfig',
  'PartitionNodeLimit',
  'PartitionTimeLimit',
  'DependencyNeverSatisfied',
  'InvalidAccount',
  'InvalidQOS',
  'AccountNotAllowed',
  'QOSNotAllowed',
])

export function reasonText(reason: string | null): string | null {
  if (!reason || reason === 'None') return null
  const t = REASON_TEXT[reason]
  return t ? `${reason}: ${t}` : reason
}

// ---------------------------------------------------------------- state mapping

const PENDING_STATES = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'CONFIGURING'])
const RUNNING_STATES = new Set([
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'STOPPED',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
  'POWER_UP_NODE',
  'UPDATE_DB',
])

/** map one Slurm job record onto worker/task states */
export function mapSlurmState(
  r: Pick<SlurmJobRecord, 'state' | 'reason' | 'exitCode' | 'signal'> & Partial<Pick<SlurmJobRecord, 'startTime'>>,
): MappedStatus {
  const state = r.state.toUpperCase()
  const reason = r.reason && r.reason !== 'None' ? r.reason : null
  const exitDesc = () =>
    r.signal != null ? `killed by ${signalName(r.signal)}` : r.exitCode != null ? `exit code ${r.exitCode}` : null
  const join = (...parts: (string | null)[]) => parts.filter(Boolean).join('; ') || null

  if (PENDING_STATES.has(state)) {
    const hopeless = state === 'PENDING' && reason !== null && HOPELESS_REASONS.has(reason)
    const text = state === 'CONFIGURING' ? reasonText('Configuring') : reasonText(reason)
    return { worker: 'pending-in-queue', task: 'queued', final: false, reasonText: text, hopeless }
  }
  if (RUNNING_STATES.has(state)) {
    const text = state === 'SUSPENDED' || state === 'STOPPED' ? `${state.toLowerCase()} by Slurm` : reasonText(reason)
    return { worker: 'running', task: 'running', final: false, reasonText: text, hopeless: false }
  }
  switch (state) {
    case 'COMPLETED':
      // COMPLETED means exit 0 (Slurm marks a non-zero exit FAILED)
      return { worker: 'gone', task: 'succeeded', final: true, reasonText: null, hopeless: false }
    case 'FAILED': {
      // a job rejected at scheduling (BadConstraints, ...) is FAILED with that reason
      const why = reason && reason !== 'NonZeroExitCode' ? reasonText(reason) : null
      // never started (rejected by the scheduler): its "exit status" (signal 1) means nothing
      if (why && (HOPELESS_REASONS.has(reason!) || ('startTime' in r && !r.startTime)))
        return { worker: 'gone', task: 'failed', final: true, reasonText: why, hopeless: false }
      return {
        worker: 'gone',
        task: 'failed',
        final: true,
        reasonText: join(exitDesc(), why) ?? 'failed',
        hopeless: false,
      }
    }
    case 'TIMEOUT':
      return {
        worker: 'gone',
        task: 'failed',
        final: true,
        reasonText: 'TIMEOUT: the job reached its time limit (--time)',
        hopeless: false,
      }
    case 'OUT_OF_MEMORY':
      return {
        worker: 'gone',
        task: 'failed',
        final: true,
        reasonText: 'OUT_OF_MEMORY: the job used more memory than --mem',
        hopeless: false,
      }
    case 'DEADLINE':
      return {
        worker: 'gone',
        task: 'failed',
        final: true,
        reasonText: 'DEADLINE: the job reached its deadline',
        hopeless: false,
      }
    case 'SPECIAL_EXIT':
      return {
        worker: 'gone',
        task: 'failed',
        final: true,
        reasonText: join('SPECIAL_EXIT', exitDesc()),
        hopeless: false,
      }
    case 'CANCELLED':
    case 'REVOKED':
      return {
        worker: 'gone',
        task: 'cancelled',
        final: true,
        reasonText: join(`${state}`, reasonText(reason)),
        hopeless: false,
      }
    // the worker vanished under the task: not the task's fault -> lost (retried or failed by policy)
    case 'NODE_FAIL':
      return {
        worker: 'gone',
        task: 'lost',
        final: true,
        reasonText: 'NODE_FAIL: a node of the job failed',
        hopeless: false,
      }
    case 'PREEMPTED':
      return {
        worker: 'gone',
        task: 'lost',
        final: true,
        reasonText: 'PREEMPTED: the job was preempted',
        hopeless: false,
      }
    case 'BOOT_FAIL':
      return {
        worker: 'gone',
        task: 'lost',
        final: true,
        reasonText: 'BOOT_FAIL: the node failed to boot',
        hopeless: false,
      }
    default:
      return {
        worker: 'running',
        task: 'running',
        final: false,
        reasonText: `unknown Slurm state ${state}`,
        hopeless: false,
      }
  }
}

// ---------------------------------------------------------------- squeue --json

type Json = Record<string, unknown>

/** Slurm 23.02+ wraps numbers as {set, infinite, number} */
function num(v: unknown): number | null {
  if (typeof v === 'number') return v
  if (v && typeof v === 'object' && 'number' in v) {
    const o = v as { set?: boolean; infinite?: boolean; number?: number }
    if (o.set === false || o.infinite) return null
    return typeof o.number === 'number' ? o.number : null
  }
  return null
}

function firstState(v: unknown): string {
  if (Array.isArray(v)) return String(v[0] ?? 'UNKNOWN')
  if (typeof v === 'string') return v
  return 'UNKNOWN'
}

/** exit_code: raw wait status (<= 22.05) or {status, return_code, signal:{id}} (23.02+) */
function exitOf(v: unknown): { exitStatus: number | null; exitCode: number | null; signal: number | null } {
  if (typeof v === 'number') return { exitStatus: v, ...decodeWaitStatus(v) }
  if (v && typeof v === 'object') {
    const o = v as { status?: unknown; return_code?: unknown; signal?: { id?: unknown } }
    const sig = num(o.signal?.id)
    const rc = num(o.return_code)
    if (sig) return { exitStatus: null, exitCode: null, signal: sig }
    return { exitStatus: null, exitCode: rc, signal: null }
  }
  return { exitStatus: null, exitCode: null, signal: null }
}

/** expand an array task string `0-3,7,10-14:2%4` into indexes */
export function expandArrayTaskString(s: string): number[] {
  const out: number[] = []
  const body = s.split('%')[0]!.trim()
  if (!body) return out
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim())
    if (!m) continue
    const a = Number(m[1])
    const b = m[2] !== undefined ? Number(m[2]) : a
    const step = m[3] !== undefined ? Math.max(1, Number(m[3])) : 1
    for (let i = a; i <= b && out.length < 1_000_000; i += step) out.push(i)
  }
  return out
}

/**
 * Parse `squeue --json` output into one record per job / array element. A pending array's
 * collapsed record (`array_task_string` "2-9%2") is expanded into one record per index.
 */
export function parseSqueueJson(text: string): { records: SlurmJobRecord[]; errors: string[] } {
  const doc = JSON.parse(text) as { jobs?: Json[]; errors?: unknown[] }
  const errors = (doc.errors ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))
  const records: SlurmJobRecord[] = []
  for (const j of doc.jobs ?? []) {
    const jobId = String(num(j.job_id) ?? j.job_id)
    const arrayJobId = num(j.array_job_id)
    const arrayTaskId = num(j.array_task_id)
    const taskString = typeof j.array_task_string === 'string' ? j.array_task_string : ''
    const reason = typeof j.state_reason === 'string' && j.state_reason !== 'None' ? j.state_reason : null
    const base = {
      name: typeof j.name === 'string' ? j.name : null,
      state: firstState(j.job_state),
      reason,
      ...exitOf(j.exit_code),
      startTime: num(j.start_time) || null,
      endTime: num(j.end_time) || null,
      nodes: typeof j.nodes === 'string' && j.nodes ? j.nodes : null,
      source: 'squeue' as const,
    }
    const isArray = arrayJobId != null && arrayJobId !== 0
    if (isArray && arrayTaskId == null && taskString) {
      for (const idx of expandArrayTaskString(taskString)) {
        records.push({ ...base, jobId, arrayJobId: String(arrayJobId), arrayTaskId: idx })
      }
    } else {
      records.push({
        ...base,
        jobId,
        arrayJobId: isArray ? String(arrayJobId) : null,
        arrayTaskId: isArray ? arrayTaskId : null,
      })
    }
  }
  return { records, errors }
}

// ---------------------------------------------------------------- squeue -O (text)

/**
 * `squeue -h -t all -O SQUEUE_FIELDS`: the same facts as --json for our purpose (exit_code is the
 * raw wait status), but Slurm applies the --name/--jobs filters, so a poll costs only our jobs.
 */
export const SQUEUE_FIELDS = [
  'JobArrayID',
  'JobID',
  'ArrayJobID',
  'ArrayTaskID',
  'Name',
  'State',
  'Reason',
  'exit_code',
  'StartTime',
  'EndTime',
  'NodeList',
]
  .map((f) => `${f}:|`)
  .join(',')

export function parseSqueueFormat(text: string): SlurmJobRecord[] {
  const out: SlurmJobRecord[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const [arrayId, jobId, arrayJobId, arrayTask, name, state, reason, exit, start, end, nodes] = line.split('|')
    if (!jobId || !state) continue
    const status = /^-?\d+$/.test(exit ?? '') ? Number(exit) : null
    const base = {
      jobId,
      name: name ?? null,
      state,
      reason: reason && reason !== 'None' ? reason : null,
      exitStatus: status,
      ...(status !== null ? decodeWaitStatus(status) : { exitCode: null, signal: null }),
      startTime: parseTime(start),
      endTime: parseTime(end),
      nodes: nodes ? nodes : null,
      source: 'squeue' as const,
    }
    const isArray = (arrayId ?? '').includes('_')
    if (!isArray) out.push({ ...base, arrayJobId: null, arrayTaskId: null })
    else if (/^\d+$/.test(arrayTask ?? ''))
      out.push({ ...base, arrayJobId: arrayJobId!, arrayTaskId: Number(arrayTask) })
    else
      for (const i of expandArrayTaskString(arrayTask ?? ''))
        out.push({ ...base, arrayJobId: arrayJobId!, arrayTaskId: i })
  }
  return out
}

// ---------------------------------------------------------------- sacct --parsable2

export const SACCT_FIELDS = ['JobID', 'JobName', 'State', 'ExitCode', 'Start', 'End', 'NodeList'] as const

function parseTime(s: string | undefined): number | null {
  if (!s || s === 'Unknown' || s === 'None') return null
  const t = Date.parse(s)
  return Number.isFinite(t) ? Math.floor(t / 1000) : null
}

/**
 * Parse `sacct --parsable2 -o JobID,JobName,State,ExitCode,Start,End,NodeList` (with or without
 * header). JobIDs `123`, `123_4` (array element), `123_[5-9]` (pending elements) and steps
 * (`123.batch`, skipped) are understood. State `CANCELLED by 0` keeps `CANCELLED`.
 */
export function parseSacct(text: string): SlurmJobRecord[] {
  const out: SlurmJobRecord[] = []
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('JobID|')) continue
    const [jobIdField, name, stateField, exit, start, end, nodes] = line.split('|')
    if (!jobIdField || /\./.test(jobIdField)) continue
    const state = (stateField ?? 'UNKNOWN').split(' ')[0]!
    const { exitCode, signal } = decodeExitPair(exit)
    const common = {
      name: name ?? null,
      state,
      reason: null,
      exitStatus: null,
      exitCode,
      signal,
      startTime: parseTime(start),
      endTime: parseTime(end),
      nodes: nodes && nodes !== 'None assigned' ? nodes : null,
      source: 'sacct' as const,
    }
    const arr = /^(\d+)_(\d+)$/.exec(jobIdField)
    const arrPending = /^(\d+)_\[(.+)\]$/.exec(jobIdField)
    if (arr) out.push({ ...common, jobId: jobIdField, arrayJobId: arr[1]!, arrayTaskId: Number(arr[2]) })
    else if (arrPending)
      for (const i of expandArrayTaskString(arrPending[2]!))
        out.push({ ...common, jobId: arrPending[1]!, arrayJobId: arrPending[1]!, arrayTaskId: i })
    else out.push({ ...common, jobId: jobIdField, arrayJobId: null, arrayTaskId: null })
  }
  return out
}

// ---------------------------------------------------------------- scontrol show job

/** parse `scontrol show job -o` (one line per job of `Key=Value` pairs) */
export function parseScontrolJobs(text: string): SlurmJobRecord[] {
  const out: SlurmJobRecord[] = []
  for (const block of text.split(/\n(?=JobId=)/)) {
    if (!block.trim().startsWith('JobId=')) continue
    const kv: Record<string, string> = {}
    for (const m of block.matchAll(/(\w[\w/:]*)=(\S*)/g)) if (!(m[1]! in kv)) kv[m[1]!] = m[2]!
    const { exitCode, signal } = decodeExitPair(kv.ExitCode)
    const arrayJobId = kv.ArrayJobId ?? null
    const arrayTaskRaw = kv.ArrayTaskId
    const base = {
      jobId: kv.JobId!,
      name: kv.JobName ?? null,
      state: kv.JobState ?? 'UNKNOWN',
      reason: kv.Reason && kv.Reason !== 'None' ? kv.Reason : null,
      exitStatus: null,
      exitCode,
      signal,
      startTime: parseTime(kv.StartTime),
      endTime: parseTime(kv.EndTime),
      nodes: kv.NodeList && kv.NodeList !== '(null)' ? kv.NodeList : null,
      source: 'scontrol' as const,
    }
    if (arrayJobId && arrayTaskRaw !== undefined && /^\d+$/.test(arrayTaskRaw)) {
      out.push({ ...base, arrayJobId, arrayTaskId: Number(arrayTaskRaw) })
    } else if (arrayJobId && arrayTaskRaw) {
      for (const i of expandArrayTaskString(arrayTaskRaw)) out.push({ ...base, arrayJobId, arrayTaskId: i })
    } else out.push({ ...base, arrayJobId: null, arrayTaskId: null })
  }
  return out
}
