/**
 * Pure: the live state of one run in the browser = the last snapshot (`run.get`: per-stage counts,
 * workers, run state, taken at event id S) + the events streamed after S (`run.events`).
 *
 *   live = fold(snapshot@S, tail)        tail = received events with id > S
 *
 * - Events are de-duplicated by id (a reconnect may resend some: the stream resumes from the last
 *   tracked id, and the client keeps the highest id it received); out-of-order input is sorted.
 * - A newer snapshot S' (refetched every few seconds while the run is active) re-bases the state:
 *   live = fold(snapshot@S', tail without ids ≤ S'). Counts therefore never drift for long even if
 *   the stream misses something, and no event is counted twice.
 * - Per-task patches (state, attempt, reason, worker, start/end) are kept apart from the snapshot
 *   (which has only aggregates): the task table and the timeline overlay them on fetched rows.
 *
 * Events are the engine's typed union (discriminated on `type`): each case reads its payload's
 * declared fields; only fields a producer may add beyond the schema (a worker's host, pid) are read
 * with a type check. Everything returns new objects (React state); maps are copied once per batch.
 */
import type { RunEvent } from '~/server/execution/events'
import { FINISHED_RUN_STATES, TERMINAL_TASK } from './aggregate'

/** a streamed event: the engine's typed, discriminated union (server/execution/events.ts) */
export type LiveEvent = RunEvent

export interface LiveWorker {
  id: string
  pool: string
  state: string
  kind: string | null
  batchJobId: string | null
  host: string | null
  pid: number | null
  reason: string | null
  currentTaskId: string | null
  startedAt: number | null
  endedAt: number | null
}

export interface LiveTaskPatch {
  id: string
  /** the event this patch reflects (patches only move forward) */
  eventId: number
  stage: string | null
  pool: string | null
  state: string | null
  attempt: number | null
  workerId: string | null
  reason: string | null
  exitCode: number | null
  durationMs: number | null
  startedAt: number | null
  finishedAt: number | null
}

export interface RunSnapshotInput {
  /** the id of the last event the snapshot includes */
  lastEventId: number
  runState: string
  startedAt: number | null
  finishedAt: number | null
  error: string | null
  stageCounts: Record<string, Record<string, number>>
  workers: LiveWorker[]
}

export interface RunMessage {
  id: number
  at: string
  level: string
  message: string
}

export interface LiveState {
  base: RunSnapshotInput
  /** received events with id > base.lastEventId, in id order */
  tail: LiveEvent[]
  /** highest event id received from the stream (de-duplication) */
  seenId: number
  runState: string
  startedAt: number | null
  finishedAt: number | null
  error: string | null
  stageCounts: Record<string, Record<string, number>>
  workers: ReadonlyMap<string, LiveWorker>
  tasks: ReadonlyMap<string, LiveTaskPatch>
  messages: RunMessage[]
  /** bumps on every change (cheap memo key) */
  version: number
}

/** the tail is trimmed by every new snapshot; this bounds it if snapshots stop coming */
export const MAX_TAIL = 200_000
const MAX_MESSAGES = 50

interface Derived {
  runState: string
  startedAt: number | null
  finishedAt: number | null
  error: string | null
  stageCounts: Record<string, Record<string, number>>
  workers: Map<string, LiveWorker>
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const atMs = (e: LiveEvent): number => {
  const t = Date.parse(e.at)
  return Number.isFinite(t) ? t : Date.now()
}

function cloneCounts(c: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  for (const k in c) out[k] = { ...c[k] }
  return out
}

function fromSnapshot(s: RunSnapshotInput): Derived {
  const workers = new Map<string, LiveWorker>()
  for (const w of s.workers) workers.set(w.id, { ...w })
  return {
    runState: s.runState,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    error: s.error,
    stageCounts: cloneCounts(s.stageCounts),
    workers,
  }
}

/** applies one event to the derived aggregates (mutates `d`, which the caller owns) */
function step(d: Derived, e: LiveEvent): void {
  switch (e.type) {
    case 'task.state': {
      const { stage, from, to } = e.payload
      const c = (d.stageCounts[stage] ??= {})
      const left = (c[from] ?? 0) - 1
      if (left > 0) c[from] = left
      else delete c[from]
      c[to] = (c[to] ?? 0) + 1
      if (e.workerId && e.taskId) {
        const w = d.workers.get(e.workerId)
        if (w) {
          if (to === 'running' && w.currentTaskId !== e.taskId) d.workers.set(w.id, { ...w, currentTaskId: e.taskId })
          else if (to !== 'running' && w.currentTaskId === e.taskId) d.workers.set(w.id, { ...w, currentTaskId: null })
        }
      }
      return
    }
    case 'worker.state': {
      if (!e.workerId) return
      const p = e.payload
      const prev = d.workers.get(e.workerId)
      const to = p.to
      const at = atMs(e)
      d.workers.set(e.workerId, {
        id: e.workerId,
        pool: p.pool,
        state: to,
        kind: p.kind ?? prev?.kind ?? null,
        batchJobId: p.batchJobId ?? prev?.batchJobId ?? null,
        host: str(p.host) ?? prev?.host ?? null,
        pid: num(p.pid) ?? prev?.pid ?? null,
        reason: 'reason' in p ? (p.reason ?? null) : (prev?.reason ?? null),
        currentTaskId: to === 'gone' ? null : (prev?.currentTaskId ?? null),
        startedAt: prev?.startedAt ?? (to === 'running' ? at : null),
        endedAt: to === 'gone' ? (prev?.endedAt ?? at) : null,
      })
      return
    }
    case 'run.state': {
      const { to, reason } = e.payload
      d.runState = to
      const at = atMs(e)
      if (to === 'running') {
        d.startedAt ??= at
        d.finishedAt = null // a retry re-opens a finished run
      }
      if (FINISHED_RUN_STATES.has(to)) d.finishedAt = at
      if (to === 'failed') d.error = reason ?? d.error
      return
    }
    default:
      return
  }
}

function fold(d: Derived, events: readonly LiveEvent[]): Derived {
  for (const e of events) step(d, e)
  return d
}

function withDerived(s: Omit<LiveState, keyof Derived | 'version'> & { version: number }, d: Derived): LiveState {
  return {
    ...s,
    runState: d.runState,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    error: d.error,
    stageCounts: d.stageCounts,
    workers: d.workers,
    version: s.version + 1,
  }
}

export function initLive(snapshot: RunSnapshotInput): LiveState {
  const d = fromSnapshot(snapshot)
  return withDerived(
    { base: snapshot, tail: [], seenId: snapshot.lastEventId, tasks: new Map(), messages: [], version: 0 },
    d,
  )
}

function patchTask(tasks: Map<string, LiveTaskPatch>, e: LiveEvent): void {
  if (!e.taskId) return
  if (e.type !== 'task.state' && e.type !== 'task.info' && e.type !== 'task.submitted') return
  const prev = tasks.get(e.taskId)
  if (prev && prev.eventId >= e.id) return
  const base: LiveTaskPatch = prev ?? {
    id: e.taskId,
    eventId: 0,
    stage: null,
    pool: null,
    state: null,
    attempt: null,
    workerId: null,
    reason: null,
    exitCode: null,
    durationMs: null,
    startedAt: null,
    finishedAt: null,
  }
  const next: LiveTaskPatch = { ...base, eventId: e.id }
  if (e.type === 'task.state') {
    const p = e.payload
    const to = p.to
    next.state = to
    next.stage = p.stage
    next.pool = p.pool
    next.attempt = p.attempt
    if (e.workerId) next.workerId = e.workerId
    if ('reason' in p) next.reason = p.reason ?? null
    if ('exitCode' in p) next.exitCode = p.exitCode ?? null
    if ('durationMs' in p) next.durationMs = p.durationMs ?? null
    const at = atMs(e)
    if (to === 'running') {
      next.startedAt = at
      next.finishedAt = null
      next.exitCode = null
      next.durationMs = null
    } else if (TERMINAL_TASK.has(to)) {
      next.finishedAt = at
      if (next.startedAt == null && next.durationMs != null) next.startedAt = at - next.durationMs
    } else if (to === 'pending' || to === 'queued' || to === 'retrying') {
      next.startedAt = null
      next.finishedAt = null
    }
  } else if (e.type === 'task.info') {
    next.reason = e.payload.reason
    next.attempt = e.payload.attempt
  } else {
    if (e.workerId) next.workerId = e.workerId
    next.attempt = e.payload.attempt
  }
  tasks.set(e.taskId, next)
}

/**
 * Applies a batch of streamed events: ignores ids already received, sorts the rest by id, updates the
 * aggregates, the task patches and the engine messages. Returns `state` itself when nothing was new.
 */
export function applyEvents(state: LiveState, events: readonly LiveEvent[]): LiveState {
  let fresh = events.filter((e) => e.id > state.seenId)
  if (fresh.length === 0) return state
  fresh.sort((a, b) => a.id - b.id)
  // duplicates inside the batch itself
  fresh = fresh.filter((e, i) => e.id !== fresh[i - 1]?.id)
  const seenId = fresh.at(-1)?.id ?? state.seenId

  // aggregates: only events the snapshot does not include
  const newer = fresh.filter((e) => e.id > state.base.lastEventId)
  let d: Derived = {
    runState: state.runState,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    error: state.error,
    stageCounts: state.stageCounts,
    workers: state.workers as Map<string, LiveWorker>,
  }
  let tail = state.tail
  if (newer.length) {
    d = fold({ ...d, stageCounts: cloneCounts(state.stageCounts), workers: new Map(state.workers) }, newer)
    tail = state.tail.concat(newer)
    if (tail.length > MAX_TAIL) tail = tail.slice(tail.length - MAX_TAIL)
  }

  let tasks = state.tasks as Map<string, LiveTaskPatch>
  let messages = state.messages
  for (const e of fresh) {
    if (e.taskId && (e.type === 'task.state' || e.type === 'task.info' || e.type === 'task.submitted')) {
      if (tasks === state.tasks) tasks = new Map(state.tasks)
      patchTask(tasks, e)
    } else if (e.type === 'run.log') {
      messages = [...messages, { id: e.id, at: e.at, level: e.payload.level, message: e.payload.message }]
    } else if (e.type === 'run.state' && e.payload.reason) {
      messages = [
        ...messages,
        {
          id: e.id,
          at: e.at,
          level: e.payload.to === 'failed' ? 'error' : 'info',
          message: `run ${e.payload.to}: ${e.payload.reason}`,
        },
      ]
    }
  }
  if (messages.length > MAX_MESSAGES) messages = messages.slice(messages.length - MAX_MESSAGES)
  return withDerived({ base: state.base, tail, seenId, tasks, messages, version: state.version }, d)
}

/**
 * A fresh snapshot replaces the aggregates; the received events after it are applied again on top.
 * An older snapshot than the current base (a slow response) is ignored. `seenId` stays: events the
 * snapshot already counts may still arrive on the stream; they then only update the task patches.
 */
export function rebase(state: LiveState, snapshot: RunSnapshotInput): LiveState {
  if (snapshot.lastEventId < state.base.lastEventId) return state
  const tail = state.tail.filter((e) => e.id > snapshot.lastEventId)
  const d = fold(fromSnapshot(snapshot), tail)
  return withDerived(
    {
      base: snapshot,
      tail,
      seenId: state.seenId,
      tasks: state.tasks,
      messages: state.messages,
      version: state.version,
    },
    d,
  )
}

/** total per state over all stages */
export function runCounts(state: Pick<LiveState, 'stageCounts'>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s in state.stageCounts) {
    for (const [k, n] of Object.entries(state.stageCounts[s] ?? {})) out[k] = (out[k] ?? 0) + n
  }
  return out
}
