/**
 * Gathers streamed events and hands them over at most once per `intervalMs` (default 200 ms), so a
 * burst of thousands of task transitions is one React update, not one per event or per SSE message.
 * Events are de-duplicated by id inside the buffer and against everything already flushed, and
 * flushed in id order. Timers are injectable (tests).
 *
 * `hold()` ... `release()`: the consumer is still busy with the last batch (a page rendering it);
 * nothing is handed over meanwhile and what arrives waits in the buffer, so a page slower than
 * `intervalMs` gets fewer, larger batches instead of a queue of renders.
 */

export interface BatchedEvent {
  id: number
}

export interface EventBatcherOptions {
  intervalMs?: number
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
}

export interface EventBatcher<E extends BatchedEvent> {
  push(events: readonly E[]): void
  /** flush what is buffered now (e.g. before unmount) */
  flush(): void
  /** events waiting in the buffer */
  pending(): number
  /** the highest id handed over so far */
  lastFlushedId(): number
  /** hand nothing over until release() */
  hold(): void
  /** hand over again (what waits goes after the interval since the last flush) */
  release(): void
  dispose(): void
}

export function createEventBatcher<E extends BatchedEvent>(
  onFlush: (events: E[]) => void,
  opts: EventBatcherOptions = {},
): EventBatcher<E> {
  const interval = opts.intervalMs ?? 200
  const now = opts.now ?? (() => Date.now())
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>))
  let buffer = new Map<number, E>()
  let timer: unknown = null
  let lastFlushAt = -Infinity
  let flushedId = -Infinity
  let disposed = false
  let held = false

  function flush() {
    if (timer !== null) {
      clearTimer(timer)
      timer = null
    }
    if (buffer.size === 0 || held) return
    const out = [...buffer.values()].sort((a, b) => a.id - b.id)
    buffer = new Map()
    lastFlushAt = now()
    // out is sorted and not empty (buffer.size > 0): its last event has the highest id
    const newest = out[out.length - 1]
    if (newest !== undefined) flushedId = Math.max(flushedId, newest.id)
    onFlush(out)
  }

  function schedule() {
    if (timer !== null || disposed || held) return
    const wait = Math.max(0, lastFlushAt + interval - now())
    timer = setTimer(() => {
      timer = null
      if (!disposed) flush()
    }, wait)
  }

  return {
    push(events) {
      if (disposed) return
      for (const e of events) if (e.id > flushedId && !buffer.has(e.id)) buffer.set(e.id, e)
      if (buffer.size) schedule()
    },
    flush,
    pending: () => buffer.size,
    lastFlushedId: () => flushedId,
    hold() {
      held = true
    },
    release() {
      held = false
      if (buffer.size) schedule()
    },
    dispose() {
      disposed = true
      if (timer !== null) clearTimer(timer)
      timer = null
      buffer = new Map()
    },
  }
}
