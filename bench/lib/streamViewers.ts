/**
 * A group of stream viewers in a process of its own, for the stream bench (forked by
 * `startViewerGroup`). Twenty browsers decode their streams on twenty machines; one bench process
 * decoding all twenty in turn would put the 19 other decodes into each viewer's measured latency
 * and block its own health probe, so the viewers are spread over a few processes and the bench's
 * main process only probes and collects.
 *
 * Protocol (IPC): the parent sends `start`, then `finish`; the child sends `progress` every 200 ms
 * and one `result` after `finish`, then exits.
 */
import { fork } from 'node:child_process'
import { subscribeOverHttp, type SseSubscription } from '../../server/execution/stream-client.ts'
import { TERMINAL_RUN_STATES } from '../../server/execution/vocabulary.ts'

export interface ViewerGroupStart {
  type: 'start'
  base: string
  runId: string
  headers: Record<string, string>
  transport: 'events' | 'trpc'
  /** global index of this group's first viewer */
  first: number
  count: number
}

export interface ViewerGroupProgress {
  type: 'progress'
  /** last event id per viewer of the group */
  lastIds: number[]
  /** id of the run's final run.state, 0 until seen */
  finalId: number
  /** global indices of viewers that got a coalesced message */
  coalesced: number[]
  /** when every viewer of the group had its first message with events (ms epoch), else null */
  connectedAt: number | null
  error: string | null
}

export interface ViewerGroupResult {
  type: 'result'
  received: number[][]
  /** for every event of every viewer: its stored time and its latency (ms), in two parallel arrays */
  stored: number[]
  latency: number[]
  cpuSeconds: number
}

function runGroup(start: ViewerGroupStart) {
  const cpu0 = process.cpuUsage()
  const received: number[][] = Array.from({ length: start.count }, () => [])
  const stored: number[] = []
  const latency: number[] = []
  const coalesced = new Set<number>()
  let connectedAt: number | null = null
  let finalId = 0
  const subs: SseSubscription[] = []
  for (let i = 0; i < start.count; i++) {
    const mine = received[i] ?? []
    subs.push(
      subscribeOverHttp({
        baseUrl: start.base,
        runId: start.runId,
        lastEventId: 0,
        transport: start.transport,
        headers: start.headers,
        onMessage: (m, at) => {
          if (m.coalesced) coalesced.add(start.first + i)
          if (mine.length === 0 && m.events.length && received.filter((r) => r.length).length === start.count - 1)
            connectedAt = at
          for (const e of m.events) {
            mine.push(e.id)
            const t = Date.parse(e.at)
            stored.push(t)
            latency.push(at - t)
            if (e.type === 'run.state' && TERMINAL_RUN_STATES.has(e.payload.to)) finalId = e.id
          }
        },
      }),
    )
  }
  const progress = (): ViewerGroupProgress => ({
    type: 'progress',
    lastIds: received.map((r) => r.at(-1) ?? 0),
    finalId,
    coalesced: [...coalesced],
    connectedAt,
    error: subs.find((s) => s.error)?.error?.message ?? null,
  })
  const timer = setInterval(() => process.connected && process.send?.(progress()), 200)
  // the bench stopped (or failed): nothing will ask for the result
  process.on('disconnect', () => process.exit(0))
  process.on('message', async (m: { type: string }) => {
    if (m.type !== 'finish') return
    clearInterval(timer)
    process.send?.(progress())
    for (const s of subs) s.close()
    await Promise.all(subs.map((s) => s.done))
    const used = process.cpuUsage(cpu0)
    const result: ViewerGroupResult = {
      type: 'result',
      received,
      stored,
      latency,
      cpuSeconds: (used.user + used.system) / 1e6,
    }
    process.send?.(result, () => process.exit(0))
  })
}

export interface ViewerGroup {
  /** the latest progress report (null until the first) */
  progress(): ViewerGroupProgress | null
  /** closes the viewers and returns what they received */
  finish(): Promise<ViewerGroupResult>
}

/** forks a process that subscribes `count` viewers to the run */
export function startViewerGroup(start: Omit<ViewerGroupStart, 'type'>): ViewerGroup {
  const child = fork(import.meta.filename, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  let last: ViewerGroupProgress | null = null
  let result: ((r: ViewerGroupResult) => void) | null = null
  let failed: ((e: Error) => void) | null = null
  child.on('message', (m: ViewerGroupProgress | ViewerGroupResult) => {
    if (m.type === 'progress') last = m
    else result?.(m)
  })
  child.on('exit', (code) => failed?.(new Error(`a viewer process exited (code ${code}) before its result`)))
  child.send({ ...start, type: 'start' })
  return {
    progress: () => last,
    finish: () =>
      new Promise((resolve, reject) => {
        result = resolve
        failed = reject
        child.send({ type: 'finish' })
      }),
  }
}

if (process.send && process.argv[1] === import.meta.filename)
  process.once('message', (m: ViewerGroupStart) => runGroup(m))
