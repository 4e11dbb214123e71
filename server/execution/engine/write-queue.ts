/**
 * The engine's write queue: state changes and events wait here and go to the database together,
 * one transaction per batch (store.ts), and only after the commit are the events emitted on the bus
 * and the actions that depend on a stored state run (dispatching a `queued` task).
 *
 * Group commit: a batch is written as soon as the engine's current burst of work is done (the next
 * turn of the event loop), or after `flushIntervalMs` when that is set; while a write is in flight
 * everything queued meanwhile waits for it and goes in the next one. So a busy engine writes big
 * batches and a quiet one writes at once: nothing waits on a timer it does not need.
 *
 * A steady stream (short tasks ending one by one, each its own burst) would otherwise commit per
 * task: SQLite then writes the same pages to its WAL again and again, and that was the CLI's largest
 * cost per task. So while the engine is busy (its workers have their next tasks already: nobody waits
 * on this write), a write that follows the previous one by less than STREAM_GAP_MS waits until that
 * gap has passed: at most one commit per STREAM_GAP_MS under load, at once when quiet or when a
 * chain of single tasks waits on each commit.
 */
import { redactSecrets } from '../../credentials/index.ts'
import { emit } from '../bus.ts'
import type { NewRunEvent } from '../events.ts'
import {
  batchSize,
  emptyBatch,
  type EngineStore,
  type NewEvent,
  type RunPatch,
  type TaskPatch,
  type WorkerPatch,
  type WorkerRow,
  type WriteBatch,
} from '../store.ts'
import type { RunEvent } from '../types.ts'

/**
 * Nothing shorter than this can hold a secret redactSecrets removes (a secret value has at least 8
 * characters, its patterns more): the states, stage and pool names of every event skip its regexes.
 */
const SHORTEST_SECRET = 8

/** redactDeep, without the work for strings too short to hold a secret */
function redacted<T>(value: T): T {
  if (typeof value === 'string') return (value.length < SHORTEST_SECRET ? value : redactSecrets(value)) as T
  if (Array.isArray(value)) return value.map(redacted) as T
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redacted(v)
    return out as T
  }
  return value
}

/** a batch this large is written at once, without waiting for the burst to end */
const BIG_BATCH = 5000
/** least time between the starts of two writes in a steady stream (see the header) */
export const STREAM_GAP_MS = 10

export class WriteQueue {
  private batch: WriteBatch = emptyBatch()
  private afterCommit: (() => void | Promise<void>)[] = []
  /** the scheduled write, cancellable */
  private timer: { cancel(): void } | null = null
  private flushing: Promise<void> = Promise.resolve()
  private flushQueued = false
  /** when the last write started (performance.now()) */
  private lastWriteAt = Number.NEGATIVE_INFINITY

  constructor(
    private store: EngineStore,
    private log: (level: 'info' | 'warn' | 'error', msg: string) => void,
    /** wait this long before writing (ms); 0 or unset: group commit (see the header) */
    private flushIntervalMs = 0,
    /** true while a short wait delays nobody (the workers have their next tasks): see the header */
    private busy: () => boolean = () => true,
  ) {}

  event(e: NewRunEvent & { at?: Date }) {
    // messages from tasks and drivers (errors, stderr tails) may quote a token or a PEM block
    const payload = e.type === 'task.state' || e.type === 'run.log' ? redacted(e.payload) : e.payload
    this.batch.events.push({ ...e, payload, at: e.at ?? new Date() } as NewEvent)
    this.soon()
  }

  task(id: string, p: TaskPatch) {
    if (typeof p.reason === 'string') p.reason = redactSecrets(p.reason)
    if (typeof p.message === 'string') p.message = redactSecrets(p.message)
    const cur = this.batch.tasks.get(id)
    this.batch.tasks.set(id, cur ? Object.assign(cur, p) : { ...p })
  }

  newWorker(w: WorkerRow) {
    this.batch.newWorkers.push(w)
  }

  worker(id: string, p: WorkerPatch) {
    const created = this.batch.newWorkers.find((w) => w.id === id)
    if (created) {
      Object.assign(created, p)
      return
    }
    const cur = this.batch.workers.get(id)
    this.batch.workers.set(id, cur ? Object.assign(cur, p) : { ...p })
  }

  run(id: string, p: RunPatch) {
    const cur = this.batch.runs.get(id)
    this.batch.runs.set(id, cur ? Object.assign(cur, p) : { ...p })
    this.soon()
  }

  /** runs `fn` once everything queued so far is stored */
  onCommit(fn: () => void | Promise<void>) {
    this.afterCommit.push(fn)
    this.soon()
  }

  /** schedules a write of what is queued (see the header) */
  soon() {
    if (this.timer || this.flushQueued) return
    if (batchSize(this.batch) >= BIG_BATCH) {
      void this.flush()
      return
    }
    const go = () => {
      this.timer = null
      void this.flush()
    }
    const wait =
      this.flushIntervalMs > 0
        ? this.flushIntervalMs
        : this.busy()
          ? STREAM_GAP_MS - (performance.now() - this.lastWriteAt)
          : 0
    if (wait >= 1) {
      const t = setTimeout(go, wait)
      this.timer = { cancel: () => clearTimeout(t) }
    } else {
      const t = setImmediate(go)
      this.timer = { cancel: () => clearImmediate(t) }
    }
  }

  /** writes everything queued so far (one transaction), emits the stored events, runs post-commit actions */
  flush(): Promise<void> {
    this.timer?.cancel()
    this.timer = null
    if (this.flushQueued) return this.flushing
    this.flushQueued = true
    this.flushing = this.flushing.then(async () => {
      this.flushQueued = false
      const batch = this.batch
      const after = this.afterCommit
      this.batch = emptyBatch()
      this.afterCommit = []
      if (batchSize(batch) > 0) {
        this.lastWriteAt = performance.now()
        let stored: RunEvent[] | null = null
        for (let i = 0; ; i++) {
          try {
            stored = await this.store.write(batch)
            break
          } catch (e) {
            if (i >= 5) {
              this.log('error', `could not store ${batch.events.length} events: ${(e as Error).message}`)
              break
            }
            await new Promise((r) => setTimeout(r, 50 * 2 ** i))
          }
        }
        if (stored) emit(stored)
      }
      for (const fn of after) {
        try {
          await fn()
        } catch (e) {
          this.log('error', `post-commit action failed: ${(e as Error).stack ?? e}`)
        }
      }
      if (batchSize(this.batch) > 0 || this.afterCommit.length > 0) this.soon()
    })
    return this.flushing
  }
}
