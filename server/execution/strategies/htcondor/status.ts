/**
 * HTCondor job states mapped onto Control Room's worker and task states. Pure.
 *
 * JobStatus codes (job-status-codes.rst): 1 Idle, 2 Running, 3 Removed, 4 Completed, 5 Held,
 * 6 Transferring Output, 7 Suspended.
 *
 *   HTCondor                       worker              task        final  reason shown
 *   Idle, never started            pending-in-queue    queued      no     "idle: waiting for a matching slot"
 *   Idle after eviction (004)      pending-in-queue    running*    no     "evicted from <host>: <reason>; back in the queue"
 *   Running / Transferring / Susp. running             running     no     "running on <slot>" / "transferring output" / "suspended"
 *   HELD (012, JobStatus 5)        pending-in-queue    queued/running* no "held: <HoldReason> (HoldReasonCode N <Label>, subcode M)"
 *   Completed, exit 0              gone                succeeded   yes
 *   Completed, exit N / signal S   gone                failed      yes    "exit code N" / "killed by SIGKILL (signal 9)"
 *   Removed by condor_rm           gone                cancelled   yes    RemoveReason
 *   Removed by a policy (periodic_remove, SYSTEM_PERIODIC_REMOVE, MaxRuntime) gone failed yes
 *   (* the engine never moves a started task back to queued: a job that started once and is
 *      requeued keeps its task `running` while the worker shows it waiting again)
 *
 * A held job is NOT pending: its raw state is `HELD`, its reason starts with `held:` and carries
 * HoldReason/HoldReasonCode. The engine's worker states have no `held`, so the worker is
 * `pending-in-queue` (it is in the queue, not running) with that reason. What happens next is the
 * site's `htcondor.holds` policy: `fail` (default) treats system holds (policy, transfer errors,
 * resources exceeded, credentials, ...) as hopeless: the job is removed and the task fails with
 * the hold reason; user holds (condor_hold, submitted on hold) and spooling wait. `wait` leaves
 * every held job visible as held until someone releases or removes it.
 */
import type { MappedJobState } from '../../types.ts'
import type { EventJobState } from './eventlog.ts'
import { bool, num, str, type ClassAd } from './parse.ts'

export const JOB_STATUS: Record<number, string> = {
  1: 'IDLE',
  2: 'RUNNING',
  3: 'REMOVED',
  4: 'COMPLETED',
  5: 'HELD',
  6: 'TRANSFERRING_OUTPUT',
  7: 'SUSPENDED',
}

/** HoldReasonCode labels (hold-table.rst) */
export const HOLD_CODES: Record<number, string> = {
  1: 'UserRequest',
  3: 'JobPolicy',
  4: 'CorruptedCredential',
  5: 'JobPolicyUndefined',
  6: 'FailedToCreateProcess',
  7: 'UnableToOpenOutput',
  8: 'UnableToOpenInput',
  9: 'UnableToOpenOutputStream',
  10: 'UnableToOpenInputStream',
  11: 'InvalidTransferAck',
  12: 'TransferOutputError',
  13: 'TransferInputError',
  14: 'IwdError',
  15: 'SubmittedOnHold',
  16: 'SpoolingInput',
  17: 'JobShadowMismatch',
  18: 'InvalidTransferGoAhead',
  19: 'HookPrepareJobFailure',
  20: 'MissedDeferredExecutionTime',
  21: 'StartdHeldJob',
  22: 'UnableToInitUserLog',
  23: 'FailedToAccessUserAccount',
  24: 'NoCompatibleShadow',
  25: 'InvalidCronSettings',
  26: 'SystemPolicy',
  27: 'SystemPolicyUndefined',
  32: 'MaxTransferInputSizeExceeded',
  33: 'MaxTransferOutputSizeExceeded',
  34: 'JobOutOfResources',
  35: 'InvalidDockerImage',
  36: 'FailedToCheckpoint',
  43: 'PreScriptFailed',
  44: 'PostScriptFailed',
  45: 'SingularityTestFailed',
  46: 'JobDurationExceeded',
  47: 'JobExecuteExceeded',
  48: 'HookShadowPrepareJobFailure',
}

/** holds that resolve by themselves or are the user's own decision: never fail the task for them */
export const WAITING_HOLD_CODES = new Set([1, 15, 16])

export type HoldPolicy = 'fail' | 'wait'

export function holdIsHopeless(code: number | null, policy: HoldPolicy): boolean {
  if (policy === 'wait') return false
  return code === null || !WAITING_HOLD_CODES.has(code)
}

export function holdText(reason: string | null, code: number | null, subcode: number | null): string {
  const label = code !== null ? HOLD_CODES[code] : undefined
  const codes =
    code !== null ? ` (HoldReasonCode ${code}${label ? ` ${label}` : ''}${subcode ? `, subcode ${subcode}` : ''})` : ''
  return `held: ${reason ?? 'no reason given'}${codes}`
}

import { signalName } from '../batch/signals.ts'

export { signalName }

/** a removal decided by a policy, not by a user: the task failed (it was not cancelled) */
export function removedByPolicy(reason: string | null): boolean {
  return (
    !!reason &&
    /periodic_?remove|SYSTEM_PERIODIC_REMOVE|PeriodicRemove|MaxRuntime|exceeded|OnExitRemove|policy/i.test(reason) &&
    !/via condor_rm/i.test(reason)
  )
}

export type ViewStatus = 'idle' | 'running' | 'held' | 'suspended' | 'transferring' | 'completed' | 'removed'

/** one job as Control Room sees it, whatever the source (queue, history, event log) */
export interface CondorJobView {
  jobId: string
  status: ViewStatus
  /** times the job started running (NumJobStarts / execute events) */
  starts: number
  host: string | null
  exitCode: number | null
  signal: number | null
  holdReason: string | null
  holdCode: number | null
  holdSubcode: number | null
  /** RemoveReason, eviction / release notes */
  note: string | null
  startedAt: Date | null
  endedAt: Date | null
  source: 'queue' | 'history' | 'eventlog'
}

/** the raw state name shown next to the mapped one (`HELD`, `IDLE`, ...) */
export function rawState(v: Pick<CondorJobView, 'status'>): string {
  return {
    idle: 'IDLE',
    running: 'RUNNING',
    held: 'HELD',
    suspended: 'SUSPENDED',
    transferring: 'TRANSFERRING_OUTPUT',
    completed: 'COMPLETED',
    removed: 'REMOVED',
  }[v.status]
}

export function mapView(v: CondorJobView, policy: HoldPolicy = 'fail'): MappedJobState {
  const started = v.starts > 0
  switch (v.status) {
    case 'idle':
      return {
        worker: 'pending-in-queue',
        task: started ? 'running' : 'queued',
        final: false,
        reason:
          v.note ??
          (started ? `idle again after ${v.starts} start(s); waiting for a slot` : 'idle: waiting for a matching slot'),
        hopeless: false,
      }
    case 'running':
      return {
        worker: 'running',
        task: 'running',
        final: false,
        reason: v.host ? `running on ${v.host}` : null,
        hopeless: false,
      }
    case 'transferring':
      return { worker: 'running', task: 'running', final: false, reason: 'transferring output', hopeless: false }
    case 'suspended':
      return { worker: 'running', task: 'running', final: false, reason: 'suspended by HTCondor', hopeless: false }
    case 'held':
      return {
        worker: 'pending-in-queue',
        task: started ? 'running' : 'queued',
        final: false,
        reason: holdText(v.holdReason, v.holdCode, v.holdSubcode),
        hopeless: holdIsHopeless(v.holdCode, policy),
      }
    case 'completed':
      if (v.signal !== null)
        return {
          worker: 'gone',
          task: 'failed',
          final: true,
          reason: `killed by ${signalName(v.signal)} (signal ${v.signal})`,
          hopeless: false,
        }
      if (v.exitCode === 0) return { worker: 'gone', task: 'succeeded', final: true, reason: null, hopeless: false }
      return {
        worker: 'gone',
        task: 'failed',
        final: true,
        reason: v.exitCode !== null ? `exit code ${v.exitCode}` : 'completed without an exit code',
        hopeless: false,
      }
    case 'removed':
      if (removedByPolicy(v.note))
        return {
          worker: 'gone',
          task: 'failed',
          final: true,
          reason: `removed by a policy: ${v.note}`,
          hopeless: false,
        }
      return {
        worker: 'gone',
        task: 'cancelled',
        final: true,
        reason: v.note ? `removed: ${v.note}` : 'removed',
        hopeless: false,
      }
  }
}

// ---------------------------------------------------------------- sources -> view

function epoch(v: unknown): Date | null {
  const n = num(v as never)
  return n && n > 0 ? new Date(n * 1000) : null
}

/** a `condor_q -json` / `condor_history -json` ad -> view */
export function viewFromAd(ad: ClassAd, source: 'queue' | 'history'): CondorJobView | null {
  const cluster = num(ad.ClusterId)
  const proc = num(ad.ProcId)
  const js = num(ad.JobStatus)
  if (cluster === null || proc === null || js === null) return null
  const status: ViewStatus =
    js === 1
      ? 'idle'
      : js === 2
        ? 'running'
        : js === 3
          ? 'removed'
          : js === 4
            ? 'completed'
            : js === 5
              ? 'held'
              : js === 6
                ? 'transferring'
                : js === 7
                  ? 'suspended'
                  : 'idle'
  const bySignal = bool(ad.ExitBySignal) === true
  const host = str(ad.RemoteHost) ?? str(ad.LastRemoteHost)
  let note: string | null = null
  if (status === 'removed') note = str(ad.RemoveReason)
  else if (status === 'idle' && (num(ad.NumJobStarts) ?? 0) > 0 && num(ad.LastJobStatus) === 2) {
    note = `requeued after running on ${host ?? 'a slot'}${str(ad.LastVacateReason) ? `: ${str(ad.LastVacateReason)}` : ''}; back in the queue`
  } else if (status === 'idle' && num(ad.LastJobStatus) === 5)
    note = `released${str(ad.ReleaseReason) ? ` ${str(ad.ReleaseReason)}` : ''}; waiting for a slot`
  return {
    jobId: `${cluster}.${proc}`,
    status,
    starts: num(ad.NumJobStarts) ?? (status === 'running' ? 1 : 0),
    host,
    exitCode: status === 'completed' && !bySignal ? num(ad.ExitCode) : null,
    signal: status === 'completed' && bySignal ? num(ad.ExitSignal) : null,
    holdReason: status === 'held' ? str(ad.HoldReason) : null,
    holdCode: status === 'held' ? num(ad.HoldReasonCode) : null,
    holdSubcode: status === 'held' ? num(ad.HoldReasonSubCode) : null,
    note,
    startedAt: epoch(ad.JobCurrentStartDate) ?? epoch(ad.JobStartDate),
    endedAt: epoch(ad.CompletionDate) ?? (status === 'removed' ? epoch(ad.EnteredCurrentStatus) : null),
    source,
  }
}

/** an event-log state -> view */
export function viewFromEvents(s: EventJobState): CondorJobView {
  return {
    jobId: s.jobId,
    status: s.status,
    starts: s.starts,
    host: s.host,
    exitCode: s.exitCode,
    signal: s.signal,
    holdReason: s.holdReason,
    holdCode: s.holdCode,
    holdSubcode: s.holdSubcode,
    note: s.note,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    source: 'eventlog',
  }
}

/** attributes asked from condor_q / condor_history (-attributes) */
export const STATUS_ATTRIBUTES = [
  'ClusterId',
  'ProcId',
  'JobStatus',
  'LastJobStatus',
  'NumJobStarts',
  'RemoteHost',
  'LastRemoteHost',
  'HoldReason',
  'HoldReasonCode',
  'HoldReasonSubCode',
  'RemoveReason',
  'ReleaseReason',
  'LastVacateReason',
  'ExitCode',
  'ExitBySignal',
  'ExitSignal',
  'JobCurrentStartDate',
  'JobStartDate',
  'CompletionDate',
  'EnteredCurrentStatus',
]

/**
 * External state names for `Strategy.mapState` (the UI's generic mapper): HTCondor's JobStatus
 * numbers or names; `reason` is the HoldReason / RemoveReason; exitCode/signal for Completed.
 */
export function mapExternalState(
  ext: { state: string; reason?: string | null; exitCode?: number | null; signal?: string | number | null },
  policy: HoldPolicy = 'fail',
): MappedJobState {
  const s = ext.state.trim().toUpperCase()
  const code = /^\d+$/.test(s)
    ? Number(s)
    : Number(Object.entries(JOB_STATUS).find(([, n]) => n === s || n.replace('_', ' ') === s)?.[0] ?? NaN)
  const sig =
    typeof ext.signal === 'number'
      ? ext.signal
      : typeof ext.signal === 'string' && /^\d+$/.test(ext.signal)
        ? Number(ext.signal)
        : null
  const holdCodeMatch = /HoldReasonCode (\d+)/.exec(ext.reason ?? '')
  const v: CondorJobView = {
    jobId: '',
    status:
      code === 2
        ? 'running'
        : code === 3
          ? 'removed'
          : code === 4
            ? 'completed'
            : code === 5
              ? 'held'
              : code === 6
                ? 'transferring'
                : code === 7
                  ? 'suspended'
                  : 'idle',
    starts: 0,
    host: null,
    exitCode: ext.exitCode ?? null,
    signal: sig,
    holdReason: ext.reason ?? null,
    holdCode: holdCodeMatch ? Number(holdCodeMatch[1]) : null,
    holdSubcode: null,
    note: ext.reason ?? null,
    startedAt: null,
    endedAt: null,
    source: 'queue',
  }
  if (v.status === 'held' && ext.reason?.startsWith('held: ')) {
    return {
      worker: 'pending-in-queue',
      task: 'queued',
      final: false,
      reason: ext.reason,
      hopeless: holdIsHopeless(v.holdCode, policy),
    }
  }
  return mapView(v, policy)
}
