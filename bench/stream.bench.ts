/**
 * Live stream bench: the production server (`next start` of the build in NEXT_DIST_DIR, default
 * `.next`) on localhost with its own home and SQLite database. For runs of 5,000 and 10,000 no-op
 * tasks (one stage partitioned over N files: in-process tasks, so the run is a burst of 3N + 3
 * events), 1, 5 and 20 SSE subscribers of `/api/events` over HTTP (the route the UI uses), and as
 * the peer the same number of subscribers of tRPC's `run.events` (BENCH_STREAM_PEER=trpc, the
 * default: the largest viewer count only; `none` skips it):
 *  - event latency: the event's stored time (`at`) -> received by the subscriber, p50 / p95 / max
 *    over every event of every subscriber (the 20-viewer p95 beside the 1-viewer one, as a ratio);
 *  - `/api/health` meanwhile (one request every 100 ms): p95 and max, against the 250 ms target;
 *  - every subscriber must receive every event of the run exactly once, in order (checked).
 *   NEXT_DIST_DIR=.next-x npx tsx bench/stream.bench.ts     (or `npm run bench -- stream`)
 *   BENCH_STREAM_TASKS=5000,10000  BENCH_STREAM_VIEWERS=0,1,5,20  BENCH_STREAM_PEER=trpc|none
 *   BENCH_STREAM_TRANSPORT=trpc: the main rows over tRPC too (a build without /api/events)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { subscribeOverHttp, type SseSubscription } from '../server/execution/stream-client.ts'

const TASKS = (process.env.BENCH_STREAM_TASKS || '5000,10000').split(',').map(Number)
const VIEWERS = (process.env.BENCH_STREAM_VIEWERS || '0,1,5,20').split(',').map(Number)
/** the transport of the main rows (`trpc` measures a build that has no /api/events) */
const MAIN = process.env.BENCH_STREAM_TRANSPORT === 'trpc' ? ('trpc' as const) : ('events' as const)
const PEER = process.env.BENCH_STREAM_PEER === 'none' ? null : ('trpc' as const)
const RUN_TIMEOUT_MS = 10 * 60_000
const TOKEN = 'bench-stream-token-0123456789'

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
/** the largest value (Math.max(...xs) overflows the stack for 100,000s of values) */
function largest(xs: readonly number[]): number {
  let m = Number.NEGATIVE_INFINITY
  for (const x of xs) if (x > m) m = x
  return m
}
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : '–')
const sleep = (t: number) => new Promise((r) => setTimeout(r, t))

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
    s.on('error', rej)
  })
}

interface Server {
  base: string
  proc: ChildProcess
  home: string
}

async function startServer(): Promise<Server> {
  const dist = process.env.NEXT_DIST_DIR || '.next'
  if (!existsSync(path.join(dist, 'BUILD_ID')))
    throw new Error(`no production build in ${dist}: run \`NEXT_DIST_DIR=${dist} npx next build\` first`)
  const port = await freePort()
  const home = mkdtempSync(path.join(os.tmpdir(), 'cr-bench-stream-'))
  const proc = spawn('npx', ['next', 'start', '-p', String(port), '-H', '127.0.0.1'], {
    env: {
      ...process.env,
      NEXT_DIST_DIR: dist,
      NEXT_TELEMETRY_DISABLED: '1',
      CONTROLROOM_HOME: home,
      CONTROLROOM_TOKEN: TOKEN,
      DATABASE_URL: `file:${path.join(home, 'controlroom.db')}`,
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  let stderr = ''
  proc.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  const base = `http://127.0.0.1:${port}`
  const t0 = Date.now()
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`next start exited ${proc.exitCode}: ${stderr}`)
    try {
      if ((await fetch(`${base}/api/health`)).ok) break
    } catch {
      /* not up yet */
    }
    if (Date.now() - t0 > 120_000) throw new Error(`next start did not answer in 120 s: ${stderr}`)
    await sleep(200)
  }
  return { base, proc, home }
}

function stopServer(s: Server) {
  try {
    process.kill(-s.proc.pid!, 'SIGTERM')
  } catch {
    /* gone */
  }
  rmSync(s.home, { recursive: true, force: true })
}

const auth = { authorization: `Bearer ${TOKEN}` }

async function trpc<T>(base: string, proc: string, input: unknown, method: 'GET' | 'POST'): Promise<T> {
  const url =
    method === 'GET'
      ? `${base}/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`
      : `${base}/api/trpc/${proc}`
  const res = await fetch(url, {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify({ json: input }) } : {}),
  })
  const body = (await res.json()) as { result?: { data: { json: T } }; error?: unknown }
  if (!res.ok || !body.result) throw new Error(`${proc}: HTTP ${res.status} ${JSON.stringify(body.error)}`)
  return body.result.data.json
}

function workflow(n: number): string {
  const files = Array.from({ length: n }, (_, i) => `f${i}.root`).join(', ')
  return `version: 1
name: bench-stream-${n}
data:
  datasets:
    - name: files
      files: [${files}]
analysis:
  stages:
    - id: Warmup
      op: shell
      params: { command: "sleep 5" }
    - id: Partitions
      op: noop
      needs: [Warmup]
      params: { partition: file, dataset: files }
execution:
  backend: local
  strategy: local
`
}

interface Measured {
  /** viewers that fell behind and got a coalesced backlog (they receive fewer, folded events) */
  coalescedViewers: number
  latencies: number[]
  health: number[]
  healthFailures: number
  events: number
}

async function measure(
  s: Server,
  versionId: string,
  viewers: number,
  transport: 'events' | 'trpc' = 'events',
): Promise<Measured> {
  const { runId } = await trpc<{ runId: string }>(s.base, 'run.start', { versionId }, 'POST')
  /** when every viewer has had its first message (the catch-up): later events are live */
  let connectedAt = Number.POSITIVE_INFINITY
  const coalesced = new Set<number>()
  const latencies: number[] = []
  const received: number[][] = Array.from({ length: viewers }, () => [])
  let finalId = 0
  const subs: SseSubscription[] = []
  for (let i = 0; i < viewers; i++) {
    subs.push(
      subscribeOverHttp({
        baseUrl: s.base,
        runId,
        lastEventId: 0,
        transport,
        headers: auth,
        onMessage: (m, at) => {
          if (m.coalesced) coalesced.add(i)
          if (received[i]!.length === 0 && m.events.length && received.filter((r) => r.length).length === viewers - 1)
            connectedAt = at
          for (const e of m.events) {
            received[i]!.push(e.id)
            const stored = Date.parse(e.at)
            // events stored before this viewer connected are catch-up, not live latency
            if (stored >= connectedAt) latencies.push(at - stored)
            if (e.type === 'run.state' && ['succeeded', 'failed', 'cancelled'].includes(String(e.payload.to)))
              finalId = e.id
          }
        },
      }),
    )
  }
  const health: number[] = []
  let healthFailures = 0
  let stop = false
  const prober = (async () => {
    while (!stop) {
      const t0 = performance.now()
      try {
        const res = await fetch(`${s.base}/api/health`, { signal: AbortSignal.timeout(5000) })
        if (!res.ok) healthFailures++
        await res.arrayBuffer()
        health.push(performance.now() - t0)
      } catch {
        healthFailures++
        health.push(performance.now() - t0)
      }
      await sleep(100)
    }
  })()
  const t0 = Date.now()
  // done when the run has finished and every viewer has the run's last stored event (events may
  // follow the final run.state: workers going away)
  const done = async () => {
    if (viewers > 0 && finalId === 0) return false
    const d = await trpc<{ run: { state: string }; lastEventId: number }>(s.base, 'run.get', { runId }, 'GET').catch(
      () => null,
    )
    if (!d || !['succeeded', 'failed', 'cancelled'].includes(d.run.state)) return false
    return received.every((r) => (r[r.length - 1] ?? 0) >= d.lastEventId)
  }
  while (!(await done())) {
    if (Date.now() - t0 > RUN_TIMEOUT_MS)
      throw new Error(
        `run ${runId}: not every viewer got the end in ${RUN_TIMEOUT_MS / 1000} s (last ids: ${received.map((r) => r[r.length - 1] ?? 0).join(' ')}, final ${finalId})`,
      )
    const failed = subs.find((x) => x.error)
    if (failed)
      throw new Error(
        `a viewer's stream failed: ${failed.error?.message} (last ids: ${received.map((r) => r[r.length - 1] ?? 0).join(' ')}, final ${finalId})`,
      )
    await sleep(finalId || viewers === 0 ? 1000 : 50) // run.get only once a second: it is not free
  }
  stop = true
  await prober
  for (const x of subs) x.close()
  await Promise.all(subs.map((x) => x.done))
  if (viewers === 0) return { latencies, health, healthFailures, events: 0, coalescedViewers: 0 }
  // in order for everyone; exactly the same events for every viewer that kept up (a viewer that fell
  // behind got its backlog folded: fewer events, same end state)
  for (const r of received)
    for (let i = 1; i < r.length; i++) if (r[i]! <= r[i - 1]!) throw new Error('events out of order')
  const keptUp = received.filter((_, i) => !coalesced.has(i))
  const first = keptUp[0] ?? []
  for (const r of keptUp)
    if (r.length !== first.length || r.some((id, k) => id !== first[k])) throw new Error('viewers disagree')
  return {
    latencies,
    health,
    healthFailures,
    events: Math.max(...received.map((r) => r.length)),
    coalescedViewers: coalesced.size,
  }
}

export async function benchStream(): Promise<string[]> {
  const lines: string[] = []
  const s = await startServer()
  try {
    lines.push(
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} (${os.cpus().length} cpus)`,
    )
    lines.push(
      'tasks   viewers  events  latency p50 / p95 / max          p95 vs 1 viewer  health p95 / max   vs 0 viewers  vs 250 ms target',
    )
    for (const n of TASKS) {
      const saved = await trpc<{ version: { id: string } }>(
        s.base,
        'workflow.saveVersion',
        { yaml: workflow(n), message: 'bench' },
        'POST',
      )
      let p95One = Number.NaN
      let healthNone = Number.NaN
      const rows: { v: number; transport: 'events' | 'trpc' }[] = VIEWERS.map((v) => ({ v, transport: MAIN }))
      const most = Math.max(...VIEWERS)
      if (PEER && PEER !== MAIN && most > 0) rows.push({ v: most, transport: PEER })
      let p95Events = Number.NaN
      for (const { v, transport } of rows) {
        const m = await measure(s, saved.version.id, v, transport)
        const p95 = quantile(m.latencies, 0.95)
        if (v === 1 && transport === MAIN) p95One = p95
        if (v === most && transport === MAIN) p95Events = p95
        const hp95 = quantile(m.health, 0.95)
        if (v === 0) healthNone = hp95
        const vs = transport === MAIN ? `${(p95 / p95One).toFixed(2)}x` : `${(p95 / p95Events).toFixed(2)}x /api/events`
        lines.push(
          `${String(n).padEnd(7)} ${`${v}${transport === 'trpc' ? ' tRPC' : ''}`.padEnd(8)} ${String(m.events).padEnd(7)} ` +
            (v === 0
              ? '(no viewer)'.padEnd(33 + 17)
              : `${ms(quantile(m.latencies, 0.5))} / ${ms(p95)} / ${ms(largest(m.latencies))}`.padEnd(33) +
                vs.padEnd(17)) +
            `${ms(hp95)} / ${ms(largest(m.health))}`.padEnd(19) +
            `${(hp95 / healthNone).toFixed(2)}x`.padEnd(14) +
            `${(hp95 / 250).toFixed(2)}x` +
            ` (${m.health.length} probes${m.healthFailures ? `, ${m.healthFailures} over 5 s or failed` : ''}` +
            `${m.coalescedViewers ? `; ${m.coalescedViewers} viewer(s) fell behind: backlog coalesced` : ''})`,
        )
        console.error(`[stream bench] ${lines[lines.length - 1]}`)
      }
    }
  } finally {
    stopServer(s)
  }
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const l of await benchStream()) console.log(l)
}
