/**
 * Live stream bench: the production server (`next start` of the build in NEXT_DIST_DIR, default
 * `.next`) on localhost with its own home and SQLite database. For runs of 5,000 and 10,000 no-op
 * tasks (one stage partitioned over N files: in-process tasks, so the run is a burst of 3N + 3
 * events), 1, 5 and 20 SSE subscribers of `/api/events` over HTTP (the route the UI uses), and as
 * the peer the same number of subscribers of tRPC's `run.events` (BENCH_STREAM_PEER=trpc, the
 * default: the largest viewer count only; `none` skips it):
 *  - event latency: the event's stored time (`at`) -> received by the subscriber, p50 / p95 / max
 *    over every event of every subscriber (the 20-viewer p95 beside the 1-viewer one, as a ratio);
 *  - `/api/health` meanwhile (one request every 100 ms, each settled by a hard 5 s deadline:
 *    server/execution/stream-probe.ts): p95 and max, against the 250 ms target;
 *  - every subscriber must receive every event of the run exactly once, in order (checked);
 *  - the CPU seconds the server and the viewers (this process: decoding) used meanwhile: on a
 *    loaded machine they tell where the time went.
 * Then the live run page in Chromium (bench/streamPage.ts): frames per second while the events of a
 * 10,000-task run (1,000 stages; and 1 stage) stream in, beside a 3-task run's, against 30/s.
 * The load average is printed first and last: figures measured under load are indicative only.
 *   NEXT_DIST_DIR=.next-x npx tsx bench/stream.bench.ts     (or `npm run bench -- stream`)
 *   BENCH_STREAM_TASKS=5000,10000|none  BENCH_STREAM_VIEWERS=0,1,5,20  BENCH_STREAM_PEER=trpc|none
 *   BENCH_STREAM_PAGE=none: no browser rows
 *   BENCH_STREAM_TRANSPORT=trpc: the main rows over tRPC too (a build without /api/events)
 *   BENCH_STREAM_CPU_PROF=<dir>: the server's CPU profile (node --cpu-prof) is written there
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { startProbing } from '../server/execution/stream-probe.ts'
import { type RunState, TERMINAL_RUN_STATES } from '../server/execution/vocabulary.ts'
import { startViewerGroup, type ViewerGroup } from './lib/streamViewers.ts'
import { measureRunPage, openBrowser } from './streamPage.ts'

const TASKS =
  process.env.BENCH_STREAM_TASKS === 'none'
    ? []
    : (process.env.BENCH_STREAM_TASKS || '5000,10000').split(',').map(Number)
/** the run page in Chromium (`none` skips it) */
const PAGE = process.env.BENCH_STREAM_PAGE !== 'none'
/** the run page's own workflows wait this long first, so the page is open before their tasks start */
const PAGE_WARMUP_S = 8
const VIEWERS = (process.env.BENCH_STREAM_VIEWERS || '0,1,5,20').split(',').map(Number)
/** the transport of the main rows (`trpc` measures a build that has no /api/events) */
const MAIN = process.env.BENCH_STREAM_TRANSPORT === 'trpc' ? ('trpc' as const) : ('events' as const)
const PEER = process.env.BENCH_STREAM_PEER === 'none' ? null : ('trpc' as const)
const CPU_PROF = process.env.BENCH_STREAM_CPU_PROF ? path.resolve(process.env.BENCH_STREAM_CPU_PROF) : null
const RUN_TIMEOUT_MS = 10 * 60_000
/** a health probe that has not answered by then counts as failed (and the bench goes on) */
const HEALTH_TIMEOUT_MS = 5000
/** the viewers are spread over this many processes (bench/lib/streamViewers.ts) */
const VIEWER_PROCESSES = 4
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
  const args = ['start', '-p', String(port), '-H', '127.0.0.1']
  // BENCH_STREAM_CPU_PROF=<dir>: the server's CPU profile (node --cpu-prof; not allowed in NODE_OPTIONS)
  const [cmd, argv] = CPU_PROF
    ? [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, 'node_modules/next/dist/bin/next', ...args]]
    : ['npx', ['next', ...args]]
  const proc = spawn(cmd, argv, {
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

/** CPU seconds used so far by the server's processes (its process group: npx, next start) */
function serverCpuSeconds(s: Server): number {
  let ticks = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // fields after the name: state ppid pgrp ... utime (12th) stime (13th)
      if (Number(f[2]) === s.proc.pid) ticks += Number(f[11]) + Number(f[12])
    } catch {
      /* gone */
    }
  }
  return ticks / 100
}

async function stopServer(s: Server) {
  const exited = new Promise((res) => s.proc.once('exit', res))
  try {
    process.kill(-s.proc.pid!, 'SIGTERM')
  } catch {
    /* gone */
  }
  // the server writes its CPU profile (BENCH_STREAM_CPU_PROF) as it exits
  await Promise.race([exited, sleep(10_000)])
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

function workflow(n: number, warmupS = 5): string {
  const files = Array.from({ length: n }, (_, i) => `f${i}.root`).join(', ')
  return `version: 1
name: bench-stream-${n}-${warmupS}
data:
  datasets:
    - name: files
      files: [${files}]
analysis:
  stages:
    - id: Warmup
      op: shell
      params: { command: "sleep ${warmupS}" }
    - id: Partitions
      op: noop
      needs: [Warmup]
      params: { partition: file, dataset: files }
execution:
  backend: local
  strategy: local
`
}

/** `chains` chains of `length` stages of `partitions` tasks each (the issue's 10,000-task run of many stages) */
function chainsWorkflow(chains: number, length: number, partitions: number, warmupS: number): string {
  const files = Array.from({ length: partitions }, (_, i) => `p${i}.root`).join(', ')
  const stages = ['    - id: Warmup', '      op: shell', `      params: { command: "sleep ${warmupS}" }`]
  for (let c = 0; c < chains; c++)
    for (let k = 0; k < length; k++)
      stages.push(
        `    - id: c${c}s${k}`,
        '      op: noop',
        `      needs: [${k === 0 ? 'Warmup' : `c${c}s${k - 1}`}]`,
        '      params: { partition: file, dataset: parts }',
      )
  return `version: 1
name: bench-stream-chains-${chains}x${length}x${partitions}
data:
  datasets:
    - name: parts
      files: [${files}]
analysis:
  stages:
${stages.join('\n')}
execution:
  backend: local
  strategy: local
`
}

/** the peer of the big pages: a run of 3 short shell tasks, one after the other */
function smallWorkflow(warmupS: number): string {
  return `version: 1
name: bench-stream-small
analysis:
  stages:
    - id: Warmup
      op: shell
      params: { command: "sleep ${warmupS}" }
    - id: A
      op: shell
      needs: [Warmup]
      params: { command: "sleep 1" }
    - id: B
      op: shell
      needs: [A]
      params: { command: "sleep 1" }
execution:
  backend: local
  strategy: local
`
}

interface Measured {
  /** CPU seconds of the server and of this process (the viewers' decoding) during the run */
  serverCpu: number
  clientCpu: number
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
  const cpu0 = serverCpuSeconds(s)
  const client0 = process.cpuUsage()
  const { runId } = await trpc<{ runId: string }>(s.base, 'run.start', { versionId }, 'POST')
  // the viewers decode in processes of their own (bench/lib/streamViewers.ts), a few per process
  const groups: ViewerGroup[] = []
  const perGroup = Math.ceil(viewers / Math.min(viewers, VIEWER_PROCESSES)) || 1
  for (let first = 0; first < viewers; first += perGroup)
    groups.push(
      startViewerGroup({
        base: s.base,
        runId,
        headers: auth,
        transport,
        first,
        count: Math.min(perGroup, viewers - first),
      }),
    )
  const lastIds = () => groups.flatMap((g) => g.progress()?.lastIds ?? [])
  const finalIdNow = () => Math.max(0, ...groups.map((g) => g.progress()?.finalId ?? 0))
  // /api/health every 100 ms; each probe settles within HEALTH_TIMEOUT_MS whatever the HTTP client does
  const prober = startProbing(`${s.base}/api/health`, { intervalMs: 100, timeoutMs: HEALTH_TIMEOUT_MS })
  const health = prober.results
  const t0 = Date.now()
  let phase = 'waiting for the run and its viewers'
  const watchdog = setInterval(() => {
    console.error(
      `[stream bench] ${Math.round((Date.now() - t0) / 1000)} s, ${phase}: final run.state ${finalIdNow() || 'not yet'}, ` +
        `health probes ${health.length}, viewers' last ids ${lastIds().join(' ')}`,
    )
  }, 20_000)
  // done when the run has finished and every viewer has the run's last stored event (events may
  // follow the final run.state: workers going away)
  const done = async () => {
    if (viewers > 0 && finalIdNow() === 0) return false
    phase = 'asking run.get for the run state'
    const d = await trpc<{ run: { state: RunState }; lastEventId: number }>(s.base, 'run.get', { runId }, 'GET').catch(
      () => null,
    )
    if (!d || !TERMINAL_RUN_STATES.has(d.run.state)) return false
    const ids = lastIds()
    return ids.length === viewers && ids.every((id) => id >= d.lastEventId)
  }
  while (!(await done())) {
    phase = `waiting for the viewers' last events`
    if (Date.now() - t0 > RUN_TIMEOUT_MS)
      throw new Error(
        `run ${runId}: not every viewer got the end in ${RUN_TIMEOUT_MS / 1000} s (last ids: ${lastIds().join(' ')}, final ${finalIdNow()})`,
      )
    const failed = groups.map((g) => g.progress()?.error).find(Boolean)
    if (failed)
      throw new Error(`a viewer's stream failed: ${failed} (last ids: ${lastIds().join(' ')}, final ${finalIdNow()})`)
    await sleep(finalIdNow() || viewers === 0 ? 1000 : 50) // run.get only once a second: it is not free
  }
  phase = 'stopping the health probe'
  await prober.stop()
  phase = 'closing the viewers'
  const serverCpu = serverCpuSeconds(s) - cpu0
  const connectedAt = Math.max(...groups.map((g) => g.progress()?.connectedAt ?? Number.POSITIVE_INFINITY))
  const coalesced = new Set(groups.flatMap((g) => g.progress()?.coalesced ?? []))
  const results = await Promise.all(groups.map((g) => g.finish()))
  clearInterval(watchdog)
  const clientUsed = process.cpuUsage(client0)
  const cpu = {
    serverCpu,
    clientCpu: (clientUsed.user + clientUsed.system) / 1e6 + results.reduce((sum, r) => sum + r.cpuSeconds, 0),
  }
  const received = results.flatMap((r) => r.received)
  // events stored before every viewer had connected are catch-up, not live latency
  const latencies = results.flatMap((r) => r.latency.filter((_, k) => (r.stored[k] ?? 0) >= connectedAt))
  const healthMs = health.map((h) => h.ms)
  const healthFailures = health.filter((h) => !h.ok).length
  if (viewers === 0) return { ...cpu, latencies, health: healthMs, healthFailures, events: 0, coalescedViewers: 0 }
  // in order for everyone; exactly the same events for every viewer that kept up (a viewer that fell
  // behind got its backlog folded: fewer events, same end state)
  for (const r of received)
    for (let i = 1; i < r.length; i++) if (r[i]! <= r[i - 1]!) throw new Error('events out of order')
  const keptUp = received.filter((_, i) => !coalesced.has(i))
  const first = keptUp[0] ?? []
  for (const r of keptUp)
    if (r.length !== first.length || r.some((id, k) => id !== first[k])) throw new Error('viewers disagree')
  return {
    ...cpu,
    latencies,
    health: healthMs,
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
      'tasks   viewers  events  latency p50 / p95 / max          p95 vs 1 viewer       health p95 / max   vs 0 viewers  vs 250 ms target',
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
                vs.padEnd(22)) +
            `${ms(hp95)} / ${ms(largest(m.health))}`.padEnd(19) +
            `${(hp95 / healthNone).toFixed(2)}x`.padEnd(14) +
            `${(hp95 / 250).toFixed(2)}x` +
            ` (CPU: server ${m.serverCpu.toFixed(1)} s, viewers ${m.clientCpu.toFixed(1)} s; ${m.health.length} probes${m.healthFailures ? `, ${m.healthFailures} over 5 s or failed` : ''}` +
            `${m.coalescedViewers ? `; ${m.coalescedViewers} viewer(s) fell behind: backlog coalesced` : ''})`,
        )
        console.error(`[stream bench] ${lines[lines.length - 1]}`)
      }
    }
    if (PAGE) lines.push(...(await benchRunPage(s)))
    lines.push(
      '',
      `load average at the end ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}: figures measured under load are indicative only`,
    )
  } finally {
    await stopServer(s)
  }
  return lines
}

/** the live run page in Chromium: frames per second while a run's events stream in */
async function benchRunPage(s: Server): Promise<string[]> {
  const lines = [
    '',
    'run page in Chromium, live: frames/s while the events stream (first count change -> run end on the page)',
    'run                          frames/s  vs 3-task run  vs 30/s target  worst frame  long tasks (>50 ms)  window   DOM elements',
  ]
  const runs: [string, string][] = [
    ['3 tasks', smallWorkflow(PAGE_WARMUP_S)],
    ['10,000 tasks, 1,000 stages', chainsWorkflow(20, 50, 10, PAGE_WARMUP_S)],
    ['10,000 tasks, 1 stage', workflow(10_000, PAGE_WARMUP_S)],
  ]
  const { browser, page } = await openBrowser(s.base, TOKEN)
  try {
    let peer = Number.NaN
    for (const [label, yaml] of runs) {
      const saved = await trpc<{ version: { id: string } }>(
        s.base,
        'workflow.saveVersion',
        { yaml, message: 'bench' },
        'POST',
      )
      const cpu0 = serverCpuSeconds(s)
      const { runId } = await trpc<{ runId: string }>(s.base, 'run.start', { versionId: saved.version.id }, 'POST')
      const f = await measureRunPage(page, s.base, runId, RUN_TIMEOUT_MS)
      if (label === '3 tasks') peer = f.fps
      lines.push(
        `${label.padEnd(29)}${f.fps.toFixed(1).padEnd(10)}${`${(f.fps / peer).toFixed(2)}x`.padEnd(15)}${`${(f.fps / 30).toFixed(2)}x`.padEnd(16)}` +
          `${ms(f.worstFrameMs).padEnd(13)}${`${f.longTasks}, ${ms(f.longTaskMs)}`.padEnd(21)}${`${(f.windowMs / 1000).toFixed(1)} s`.padEnd(9)}${f.domNodes}` +
          ` (server CPU ${(serverCpuSeconds(s) - cpu0).toFixed(1)} s)`,
      )
      console.error(`[stream bench] ${lines[lines.length - 1]}`)
    }
  } finally {
    await browser.close()
  }
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const l of await benchStream()) console.log(l)
}
