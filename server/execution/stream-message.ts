/**
 * What `run.events` sends, shared by the server (stream.ts), the browser and the CLI/bench clients.
 * Pure: no Node imports.
 *
 * A message is `{ json }`: the batch's JSON encoded ONCE on the server and sent as a string, so a
 * batch fanned out to 20 subscribers is serialised once, not 20 times. `decodeStreamMessage` turns
 * it back into `{ events, coalesced }`.
 *
 * `coalesced: true` says the subscriber fell behind and its backlog was folded (one event per task
 * and per worker, see `coalesceEvents`): counts folded from it are right, intermediate steps are
 * missing. A subscriber that keeps up never receives a coalesced message.
 */

import type { RunEvent } from './events.ts'

/** an event on the stream: the engine's typed union (events.ts) */
export type StreamEvent = RunEvent

export interface StreamMessage<E extends StreamEvent = StreamEvent> {
  events: E[]
  coalesced: boolean
  /**
   * summary messages only (lists of runs): every run the batch touched; `events` then holds only
   * the batch's `run.state` events
   */
  runs?: string[]
}

export interface EncodedStreamMessage {
  json: string
}

export function encodeStreamMessage(events: readonly StreamEvent[], coalesced: boolean): EncodedStreamMessage {
  return { json: JSON.stringify({ events, coalesced }) }
}

/**
 * A batch as a list of runs needs it: the runs it touched and its run-state changes (a message of
 * a few hundred bytes however many task events the batch holds).
 */
export function encodeSummaryMessage(events: readonly StreamEvent[], coalesced: boolean): EncodedStreamMessage {
  const runs = [...new Set(events.map((e) => e.runId))]
  return { json: JSON.stringify({ events: events.filter((e) => e.type === 'run.state'), coalesced, runs }) }
}

export function decodeStreamMessage<E extends StreamEvent = StreamEvent>(m: EncodedStreamMessage): StreamMessage<E> {
  const parsed = JSON.parse(m.json) as Partial<StreamMessage<E>>
  return {
    events: Array.isArray(parsed.events) ? parsed.events : [],
    coalesced: parsed.coalesced === true,
    ...(Array.isArray(parsed.runs) ? { runs: parsed.runs.map(String) } : {}),
  }
}

/** run.log lines kept when a backlog is coalesced (the newest) */
export const COALESCED_LOG_LINES = 50

/**
 * Folds a backlog (events in id order) into fewer events that fold to the same live state:
 *  - `task.state`: one event per task, the last one, with `from` of the first (the per-stage count
 *    moves once from where the task was to where it is) and the payload fields merged in order;
 *  - `worker.state`: the last per worker, payloads merged (a later event may omit the host);
 *  - `task.info`, `task.submitted`: the last per task;
 *  - `run.state`: all kept (few, each a message); `run.log`: the newest COALESCED_LOG_LINES.
 * Each kept event carries the id of the last event it stands for; the result is in id order and its
 * last id is the backlog's last id.
 */
export function coalesceEvents<E extends StreamEvent>(events: readonly E[]): E[] {
  const byKey = new Map<string, E>()
  const logs: E[] = []
  const keep: E[] = []
  for (const e of events) {
    let key: string | null = null
    if (e.type === 'task.state' && e.taskId) key = `t\0${e.taskId}`
    else if ((e.type === 'task.info' || e.type === 'task.submitted') && e.taskId) key = `${e.type}\0${e.taskId}`
    else if (e.type === 'worker.state' && e.workerId) key = `w\0${e.workerId}`
    if (key === null) {
      if (e.type === 'run.log') logs.push(e)
      else keep.push(e)
      continue
    }
    const prev = byKey.get(key)
    if (!prev) {
      byKey.set(key, e)
      continue
    }
    const payload: Record<string, unknown> = { ...prev.payload, ...e.payload }
    if (e.type === 'task.state' && prev.type === 'task.state') payload.from = prev.payload.from
    byKey.set(key, { ...e, payload } as E)
  }
  // the backlog's last event is always kept (as itself or as the merged event of its key)
  const out = [...keep, ...byKey.values(), ...logs.slice(-COALESCED_LOG_LINES)].sort((a, b) => a.id - b.id)
  return out
}
