/**
 * The live event stream of runs (`run.events`), shared by every viewer.
 *
 * One Feed per run (and one for "all runs") per database. A run's feed takes the events this process
 * stored from the bus as they were committed (no store read at all); so does the all-runs feed while
 * their ids follow on from its position (else it reads the store once for the batch); both read the
 * store every POLL_MS for events stored by another process (e.g. a CLI run). Each batch goes to every subscriber from memory, encoded once
 * for all of them: the SSE frame's bytes (`/api/events`) or the tRPC message (`run.events`).
 *
 *   store ──read once──▶ Feed ──▶ subscriber 1 … subscriber N      (fan-out in memory)
 *
 * A subscriber starts at its last event id: it catches up from the feed's recent events in memory,
 * or from the store when it is further behind, reading at most up to the feed's position; then, in
 * the same tick (no await between the check and the switch), it joins the feed. So every event is
 * delivered exactly once and in id order, across the join and across reconnects (lastEventId).
 *
 * Every subscriber that keeps reading gets the feed's batches themselves, their encoding shared,
 * however big one batch is (one engine burst can hold 30,000 events). A subscriber is slow when it
 * does not pull (the SSE response is back-pressured: its socket does not drain): more than
 * BACKLOG_MAX events wait for it and the oldest has waited SLOW_TURNS turns of the stream clock
 * (about 2 s in which the event loop ran: a loop blocked for a while does not make everyone slow).
 * Its backlog is then coalesced (one event per task and per worker, encoded for it alone) and its
 * next message says `coalesced`. Its memory stays bounded by the size of the run and nobody waits
 * for it.
 */
import { tracked, type TrackedEnvelope } from '@trpc/server'
import type { Db } from '../db/client.ts'
import { processSingleton } from '../singleton.ts'
import { subscribe as onBus } from './bus.ts'
import { eventsSince, lastEventIdOf } from './runs.ts'
import {
  coalesceEvents,
  type EncodedStreamMessage,
  encodeStreamMessage,
  encodeSummaryMessage,
} from './stream-message.ts'
import type { RunEvent } from './types.ts'

/** after this process stored events, a feed waits this long for the rest of the burst (one message for it) */
export const GATHER_MS = 40
/** events of runs owned by another process are found by reading the store this often */
export const POLL_MS = 1000
/** events per store read and per message */
export const READ_MAX = 2000
/** recent events each feed keeps in memory for subscribers that join a little late */
export const RECENT_MAX = 20_000
/** a subscriber's undelivered events beyond which its backlog is coalesced (once it is slow: SLOW_TURNS) */
export const BACKLOG_MAX = 4000
/** the stream clock's period: one turn at most every TURN_MS, and only when the event loop runs */
export const TURN_MS = 250
/** turns of the stream clock a subscriber's oldest undelivered batch waits before it counts as slow (~2 s) */
export const SLOW_TURNS = 8

/**
 * The stream clock: a count of TURN_MS ticks of a timer. A timer fires once after the event loop was
 * blocked, however long, so a turn is time in which a subscriber could have pulled (its socket's
 * drain handled). Runs while a feed is open.
 */
const clock = processSingleton('execution.stream.clock', () => ({
  turns: 0,
  users: 0,
  timer: null as ReturnType<typeof setInterval> | null,
  /** stream messages encoded so far (tests and the bench check that a batch is encoded once for every viewer) */
  encodings: 0,
}))

function holdClock(): void {
  if (clock.users++ === 0) {
    clock.timer = setInterval(() => clock.turns++, TURN_MS)
    clock.timer.unref?.()
  }
}

function releaseClock(): void {
  if (--clock.users === 0 && clock.timer) {
    clearInterval(clock.timer)
    clock.timer = null
  }
}

/** moves the stream clock on by `turns` (tests: a subscriber left waiting that long) */
export function advanceStreamClock(turns: number): void {
  clock.turns += turns
}

const utf8 = new TextEncoder()

/** one read of the store, handed to every subscriber; its encodings are made once and shared */
export class Batch {
  private encoded: EncodedStreamMessage | null = null
  private sse: Uint8Array | null = null
  private summarySse: Uint8Array | null = null
  constructor(
    readonly events: RunEvent[],
    readonly coalesced = false,
    /** the stream clock's turn when the feed had it: how long a subscriber has left it waiting */
    readonly turn = clock.turns,
  ) {}
  get lastId(): number {
    return this.events[this.events.length - 1]?.id ?? 0
  }
  /** the tRPC message (`run.events`) */
  encode(): EncodedStreamMessage {
    if (!this.encoded) {
      clock.encodings++
      this.encoded = encodeStreamMessage(this.events, this.coalesced)
    }
    return this.encoded
  }
  /** the Server-Sent Events frame (`/api/events`): the same bytes written to every subscriber */
  frame(): Uint8Array {
    this.sse ??= utf8.encode(sseFrame(this.lastId, this.encode().json))
    return this.sse
  }
  /** the summary frame (`/api/events?summary=1`, lists of runs): runs touched and run-state changes */
  summaryFrame(): Uint8Array {
    this.summarySse ??= utf8.encode(sseFrame(this.lastId, encodeSummaryMessage(this.events, this.coalesced).json))
    return this.summarySse
  }
}

/** one viewer's place in a feed: what was handed to it and what waits for it to pull */
export class Subscriber {
  /** the highest event id handed to this subscriber (queued or sent) */
  last: number
  /** caught up: receives the feed's batches */
  joined = false
  batches: Batch[] = []
  queued = 0
  /** the batches hold a folded backlog: the next message is coalesced */
  coalesced = false
  private limit = BACKLOG_MAX
  private wakeUp: (() => void) | null = null

  constructor(from: number) {
    this.last = from
  }

  deliver(batch: Batch): void {
    if (!this.joined || batch.lastId <= this.last) return
    const fresh =
      batch.events[0]!.id > this.last
        ? batch
        : new Batch(
            batch.events.filter((e) => e.id > this.last),
            false,
            batch.turn,
          )
    this.batches.push(fresh)
    this.queued += fresh.events.length
    this.last = fresh.lastId
    if (this.slow()) this.fold()
    this.wake()
  }

  /**
   * Slow: more than the limit waits and the oldest batch has waited SLOW_TURNS (its socket does not
   * drain). Not slow: a viewer a big batch or two behind that pulls them; it is sent the batches' own
   * bytes, shared with every other viewer.
   */
  private slow(): boolean {
    const oldest = this.batches[0]
    return !!oldest && this.queued > this.limit && clock.turns - oldest.turn >= SLOW_TURNS
  }

  /** folds the backlog to one event per task and worker (coalesceEvents), to be sent as one message */
  private fold(): void {
    const oldest = this.batches[0]!.turn
    const folded = coalesceEvents(this.batches.flatMap((b) => b.events))
    this.batches = [new Batch(folded, false, oldest)]
    this.queued = folded.length
    this.coalesced = true
    // a run with more tasks than the limit folds to more than it: do not fold again at once
    this.limit = Math.max(BACKLOG_MAX, 2 * folded.length)
  }

  /**
   * The next message: the oldest batch (its encoding shared with every other subscriber), or, for
   * a slow subscriber, its whole backlog folded (encoded for it alone).
   */
  take(): Batch | null {
    if (this.slow()) this.fold()
    if (this.coalesced) {
      const events =
        this.batches.length === 1 ? this.batches[0]!.events : coalesceEvents(this.batches.flatMap((b) => b.events))
      this.batches = []
      this.queued = 0
      this.coalesced = false
      this.limit = BACKLOG_MAX
      return new Batch(events, true)
    }
    const batch = this.batches.shift()
    if (!batch) return null
    this.queued -= batch.events.length
    if (this.batches.length === 0) this.limit = BACKLOG_MAX
    return batch
  }

  wake(): void {
    const w = this.wakeUp
    this.wakeUp = null
    w?.()
  }

  wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.batches.length || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done)
        this.wakeUp = null
        resolve()
      }
      this.wakeUp = done
      signal?.addEventListener('abort', done)
    })
  }
}

class Feed {
  readonly subscribers = new Set<Subscriber>()
  /** the highest event id read from the store */
  last = 0
  /** every event with recentFloor < id <= last, in id order */
  private recent: RunEvent[] = []
  private recentFloor = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private poller: ReturnType<typeof setInterval> | null = null
  private unbus: (() => void) | null = null
  private reading: Promise<void> | null = null
  private again = false
  /** store reads so far (tests and the bench check that N viewers cost one read per batch) */
  reads = 0
  /** the promise the hub holds for this feed (released only if the hub still holds this one) */
  handle: Promise<Feed> | null = null

  constructor(
    private readonly db: Db,
    readonly runId: string | null,
  ) {}

  private clockHeld = false

  async start(): Promise<void> {
    holdClock()
    this.clockHeld = true
    // listen first, then find the position: a batch emitted meanwhile is held and appended after it
    let held: RunEvent[][] | null = []
    this.unbus = onBus(this.runId, (all) => {
      if (held) held.push(all)
      // The engine's batches of a burst are gathered for GATHER_MS into one message: fewer, larger
      // writes to every viewer. A run's feed then takes its committed events as they are (no read, no
      // parse): the engine running the run is its only writer and emits each batch, in id order,
      // before it writes the next (a run owned by another process is found by the poll). The all-runs
      // feed does so too when the ids follow on from its position with no gap (nobody else wrote in
      // between); otherwise it reads the store once.
      else this.gather(all)
    })
    this.last = await lastEventIdOf(this.db, this.runId)
    this.recentFloor = this.last
    const early = held
    held = null
    if (this.runId !== null) for (const events of early) this.append(withoutControl(events))
    else if (early.length) this.schedule(GATHER_MS)
    this.poller = setInterval(() => this.schedule(0), POLL_MS)
    this.poller.unref?.()
  }

  private gathered: RunEvent[] = []
  private gatherTimer: ReturnType<typeof setTimeout> | null = null

  private gather(events: RunEvent[]): void {
    for (const e of events) this.gathered.push(e)
    this.gatherTimer ??= setTimeout(() => {
      this.gatherTimer = null
      const all = this.gathered
      this.gathered = []
      if (this.runId !== null) this.append(withoutControl(all))
      else this.appendIfContiguous(all)
    }, GATHER_MS)
  }

  /**
   * The all-runs feed: this process's committed events (control events included: they hold ids too)
   * are appended as they are when they follow on from the feed's position id by id; a gap means
   * another writer (another process) stored events in between, or a read is under way: read the store.
   */
  private appendIfContiguous(all: RunEvent[]): void {
    const fresh = all.filter((e) => e.id > this.last).sort((a, b) => a.id - b.id)
    if (fresh.length === 0) return
    for (let i = 0; i < fresh.length; i++)
      if (fresh[i]!.id !== this.last + 1 + i) {
        this.schedule(0)
        return
      }
    const last = fresh[fresh.length - 1]!.id
    this.append(withoutControl(fresh))
    this.last = Math.max(this.last, last)
  }

  stop(): void {
    if (this.clockHeld) releaseClock()
    this.clockHeld = false
    if (this.gatherTimer) clearTimeout(this.gatherTimer)
    this.gatherTimer = null
    this.unbus?.()
    if (this.poller) clearInterval(this.poller)
    if (this.timer) clearTimeout(this.timer)
    this.unbus = this.poller = this.timer = null
  }

  private schedule(ms: number): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.read()
    }, ms)
  }

  /** reads what is new in the store (one read at a time; a wake-up during a read reads again) */
  read(): Promise<void> {
    if (this.reading) {
      this.again = true
      return this.reading
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false
          this.reads++
          const events = await eventsSince(this.db, this.runId, this.last, READ_MAX)
          // (a wake-up during the read sets `again`: what it announced may have committed after the read began)
          if (events.length === 0) continue
          this.append(events)
          if (events.length === READ_MAX) this.again = true
        } while (this.again && this.subscribers.size > 0)
      } catch (e) {
        console.error('[controlroom] event stream read failed:', e)
      } finally {
        this.reading = null
      }
    })()
    return this.reading
  }

  /** hands what is new (id above the feed's position: a bus batch and a read may overlap) to everyone */
  private append(all: RunEvent[]): void {
    const events = all[0] && all[0].id > this.last ? all : all.filter((e) => e.id > this.last)
    if (events.length === 0) return
    this.last = events[events.length - 1]!.id
    for (const e of events) this.recent.push(e) // (a spread of a big burst overflows the stack)
    if (this.recent.length > RECENT_MAX) {
      const drop = this.recent.length - RECENT_MAX
      this.recentFloor = this.recent[drop - 1]!.id
      this.recent = this.recent.slice(drop)
    }
    const batch = new Batch(events)
    for (const s of this.subscribers) s.deliver(batch)
  }

  /** events after `after` (at most `limit`, none after the feed's position): from memory or the store */
  async catchUp(after: number, limit: number): Promise<RunEvent[]> {
    const upTo = this.last
    if (after >= this.recentFloor) {
      let i = lowerBound(this.recent, after)
      const out: RunEvent[] = []
      for (; i < this.recent.length && out.length < limit; i++) out.push(this.recent[i]!)
      return out
    }
    const rows = await eventsSince(this.db, this.runId, after, limit, upTo)
    return rows
  }
}

function withoutControl(events: RunEvent[]): RunEvent[] {
  return events.some((e) => e.type === 'control') ? events.filter((e) => e.type !== 'control') : events
}

/** index of the first event with id > after */
function lowerBound(events: readonly RunEvent[], after: number): number {
  let lo = 0
  let hi = events.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (events[mid]!.id <= after) lo = mid + 1
    else hi = mid
  }
  return lo
}

// ------------------------------------------------------------------ the feeds of this process

interface Hub {
  feeds: WeakMap<Db, Map<string, Promise<Feed>>>
}
const hub = processSingleton<Hub>('execution.stream', () => ({ feeds: new WeakMap() }))

function feedKey(runId: string | null): string {
  return runId ?? '*'
}

async function acquireFeed(db: Db, runId: string | null): Promise<Feed> {
  let byKey = hub.feeds.get(db)
  if (!byKey) hub.feeds.set(db, (byKey = new Map()))
  const key = feedKey(runId)
  let p = byKey.get(key)
  if (!p) {
    const feed = new Feed(db, runId)
    const started = feed.start().then(() => feed)
    feed.handle = started
    byKey.set(key, started)
    started.catch(() => {
      feed.stop()
      byKey.delete(key)
    })
    p = started
  }
  return p
}

function releaseFeed(db: Db, feed: Feed): void {
  if (feed.subscribers.size > 0) return
  const byKey = hub.feeds.get(db)
  const key = feedKey(feed.runId)
  feed.stop()
  if (byKey && byKey.get(key) === feed.handle) byKey.delete(key)
}

/** the stream messages encoded so far in this process (a batch is encoded once for all its viewers) */
export function streamEncodings(): number {
  return clock.encodings
}

/** feeds open in this process and their subscribers (tests, the bench) */
export async function streamStats(
  db: Db,
  runId: string | null,
): Promise<{ subscribers: number; reads: number } | null> {
  const p = hub.feeds.get(db)?.get(feedKey(runId))
  if (!p) return null
  const f = await p
  return { subscribers: f.subscribers.size, reads: f.reads }
}

export interface StreamInput {
  runId?: string | null
  /** resume after this event id; absent: from now */
  lastEventId?: number | null
  signal?: AbortSignal
  /** SSE only: summary messages (the runs each batch touched and its run states), for lists of runs */
  summary?: boolean
}

/**
 * The batches one subscriber receives: catch-up from `lastEventId` (memory or store), then the
 * feed's shared batches (or its coalesced backlog). Ends when `signal` aborts.
 */
async function* subscription(db: Db, input: StreamInput): AsyncGenerator<Batch, void, unknown> {
  const runId = input.runId ?? null
  const { signal } = input
  const feed = await acquireFeed(db, runId)
  const sub = new Subscriber(input.lastEventId ?? feed.last)
  feed.subscribers.add(sub)
  try {
    // catch up (memory or store) until level with the feed, then join it in the same tick
    while (!signal?.aborted) {
      if (sub.last >= feed.last) {
        sub.joined = true
        break
      }
      const upTo = feed.last
      const events = await feed.catchUp(sub.last, READ_MAX)
      if (events.length === 0) {
        sub.last = upTo // nothing stored in between (events of other runs)
        continue
      }
      sub.last = events[events.length - 1]!.id
      yield new Batch(events)
    }
    // live: whatever the feed delivered since the last pull, as one message
    while (!signal?.aborted) {
      await sub.wait(signal)
      const next = sub.take()
      if (next) yield next
    }
  } finally {
    feed.subscribers.delete(sub)
    releaseFeed(db, feed)
  }
}

/**
 * `run.events` (tRPC): the events of one run (or of every run), from `lastEventId`, as tracked
 * messages (id = the message's last event id). Ends when `signal` aborts.
 */
export async function* streamRunEvents(
  db: Db,
  input: StreamInput,
): AsyncGenerator<TrackedEnvelope<EncodedStreamMessage>, void, unknown> {
  for await (const batch of subscription(db, input)) yield tracked(String(batch.lastId), batch.encode())
}

/** an SSE frame: `id` is the message's last event id (EventSource resends it as Last-Event-ID) */
export function sseFrame(lastId: number, json: string): string {
  return `id: ${lastId}\ndata: ${json}\n\n`
}

/** a comment line every HEARTBEAT_MS keeps idle connections open through proxies */
export const HEARTBEAT_MS = 15_000
const heartbeat = utf8.encode(': keep-alive\n\n')

/**
 * `/api/events` (Server-Sent Events): the same batches as `run.events`, each written as bytes
 * encoded once per batch for every subscriber. Pulled: a client that does not read is not written
 * to, its backlog is coalesced (Subscriber). Ends when `signal` aborts or the client goes away.
 */
export function sseRunEvents(db: Db, input: StreamInput): ReadableStream<Uint8Array> {
  const stop = new AbortController()
  const signal = input.signal ? AbortSignal.any([input.signal, stop.signal]) : stop.signal
  const batches = subscription(db, { ...input, signal })
  let beat: ReturnType<typeof setInterval> | null = null
  const end = () => {
    if (beat) clearInterval(beat)
    beat = null
    stop.abort()
  }
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // tells EventSource how long to wait before it reconnects, and opens the stream at once
        controller.enqueue(utf8.encode('retry: 2000\n\n'))
        beat = setInterval(() => {
          try {
            controller.enqueue(heartbeat)
          } catch {
            end()
          }
        }, HEARTBEAT_MS)
        beat.unref?.()
      },
      async pull(controller) {
        const next = await batches.next()
        if (next.done) {
          end()
          controller.close()
        } else controller.enqueue(input.summary ? next.value.summaryFrame() : next.value.frame())
      },
      async cancel() {
        end()
        await batches.return(undefined)
      },
    },
    { highWaterMark: 1 },
  )
}
