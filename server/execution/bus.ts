/**
 * The in-process event bus: the engine emits every event AFTER it is stored; subscriptions
 * (tRPC `run.events`, the CLI) listen. Process-global (survives module re-evaluation in dev).
 *
 * Events are emitted in batches (one call per committed DB batch) so 10,000 tasks do not mean
 * 40,000 listener calls.
 */
import { processSingleton } from '../singleton.ts'
import type { RunEvent } from './types.ts'

export type BusListener = (events: RunEvent[]) => void

interface BusState {
  byRun: Map<string, Set<BusListener>>
  all: Set<BusListener>
}

function state(): BusState {
  return processSingleton<BusState>('execution.bus', () => ({ byRun: new Map(), all: new Set() }))
}

/** listen to one run's events (or all runs with runId = null). Returns the unsubscribe function. */
export function subscribe(runId: string | null, listener: BusListener): () => void {
  const s = state()
  if (runId === null) {
    s.all.add(listener)
    return () => s.all.delete(listener)
  }
  let set = s.byRun.get(runId)
  if (!set) s.byRun.set(runId, (set = new Set()))
  set.add(listener)
  return () => {
    set!.delete(listener)
    if (set!.size === 0 && s.byRun.get(runId) === set) s.byRun.delete(runId)
  }
}

/** emit committed events (in id order). Listener errors are logged, never thrown to the engine. */
export function emit(events: RunEvent[]): void {
  if (events.length === 0) return
  const s = state()
  const call = (l: BusListener, evs: RunEvent[]) => {
    try {
      l(evs)
    } catch (e) {
      console.error('[controlroom] bus listener failed:', e)
    }
  }
  for (const l of [...s.all]) call(l, events)
  if (s.byRun.size === 0) return
  // group per run (a batch usually holds one run)
  const groups = new Map<string, RunEvent[]>()
  for (const e of events) {
    if (!s.byRun.has(e.runId)) continue
    let arr = groups.get(e.runId)
    if (!arr) groups.set(e.runId, (arr = []))
    arr.push(e)
  }
  for (const [runId, evs] of groups) for (const l of [...(s.byRun.get(runId) ?? [])]) call(l, evs)
}

export function listenerCount(runId?: string): number {
  const s = state()
  return s.all.size + (runId ? (s.byRun.get(runId)?.size ?? 0) : [...s.byRun.values()].reduce((n, x) => n + x.size, 0))
}
