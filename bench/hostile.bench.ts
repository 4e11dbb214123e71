/**
 * Hostile-input bench (targets: any workflow text under the size limit is answered within
 * 2 s, and /api/health stays under 500 ms meanwhile). Over real HTTP to a server in its own process
 * (bench/hostile-server.ts: the proxy gate, the tRPC route handler, SQLite, the compile worker pool
 * warmed as at server start), each
 * hostile text is saved once while a probe requests /api/health every 50 ms; printed: the save's
 * time and the health probes' p50 / p95 / max during it, beside the same probes with the server
 * idle (the peer, measured in the same run), each as a ratio to its target, and the load average.
 *   npx tsx bench/hostile.bench.ts     (or `npm run bench -- hostile`)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SAVE_TARGET_MS = 2000
const HEALTH_TARGET_MS = 500
const TOKEN = `bench-hostile-token-${'b'.repeat(24)}`

/** the hostile texts: each under the size limit (MAX_YAML_BYTES) */
function inputs(maxBytes: number): [string, string][] {
  const list = Array.from({ length: 140_000 }, () => '1').join(',')
  const wideBomb = `name: bomb\nbig: &a [${list}]\nanalysis:\n  stages:\n    - id: A\n      op: noop\n      params:\n        x: [${Array.from({ length: 999 }, () => '*a').join(', ')}]\n`
  const laughs = ['name: laughs', 'l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]']
  for (let i = 1; i < 10; i++)
    laughs.push(`l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`)
  laughs.push('analysis:\n  stages:\n    - { id: A, op: noop, params: { x: *l9 } }')
  const flood = '- : : ]]] {{ "\n'.repeat(Math.floor((maxBytes - 16) / 15))
  const deep = `name: deep\nx: ${'['.repeat(Math.floor(maxBytes / 2) - 20)}`
  const stages = Math.floor((maxBytes - 200) / 80)
  const manyStages = `name: many\nanalysis:\n  stages:\n${Array.from({ length: stages }, (_, i) => `    - { id: S${i}, op: noop, needs: [${i ? `S${i - 1}` : ''}] }`).join('\n')}\n`
  let binary = ''
  for (let i = 0; binary.length < maxBytes / 2; i++) binary += String.fromCharCode(1 + ((i * 7919) % 250))
  return [
    ['999 aliases to a 140,000-element list', wideBomb],
    ['billion laughs (10 levels of 10)', laughs.join('\n')],
    ['1 MiB of syntax errors', flood],
    ['deep nesting (half a MiB of "[")', deep],
    [`a chain of ${stages} stages (valid, at the size limit)`, manyStages.slice(0, maxBytes - 1)],
    ['binary noise', binary],
  ]
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN
}
const f0 = (n: number) => n.toFixed(0).padStart(5)
const ratio = (n: number, target: number) => `${(n / target).toFixed(2)}× target`
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

export async function benchHostile(): Promise<string[]> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'cr-bench-hostile-'))
  const { createTRPCClient, httpBatchLink } = await import('@trpc/client')
  const superjson = (await import('superjson')).default
  const { COMPILE_BUDGET_MS } = await import('../server/library/compile-pool.ts')
  const { MAX_YAML_BYTES } = await import('../server/library/index.ts')
  type AppRouter = import('../server/api/root.ts').AppRouter
  const server = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./hostile-server.ts', import.meta.url))],
    {
      env: { ...process.env, CONTROLROOM_HOME: home, CONTROLROOM_TOKEN: TOKEN, CONTROLROOM_AUTH: 'token' },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    server.stdout.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /READY (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    server.once('exit', (code) => reject(new Error(`the bench server exited (${code}): ${out}`)))
  })
  const h = { url }
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${h.url}/api/trpc`,
        transformer: superjson,
        headers: () => ({ authorization: `Bearer ${TOKEN}` }),
      }),
    ],
  })
  const probeWhile = async (busy: () => boolean): Promise<number[]> => {
    const times: number[] = []
    while (busy()) {
      const t0 = performance.now()
      const r = await fetch(`${h.url}/api/health`)
      await r.arrayBuffer()
      times.push(performance.now() - t0)
      await new Promise((r) => setTimeout(r, 50))
    }
    return times
  }
  const lines: string[] = [
    `hostile saves over HTTP; size limit ${MAX_YAML_BYTES} bytes, compile budget ${COMPILE_BUDGET_MS} ms; targets: save ≤ ${SAVE_TARGET_MS} ms, /api/health ≤ ${HEALTH_TARGET_MS} ms; load average at start ${load()} (${os.cpus().length} CPUs)`,
  ]
  try {
    // a first ordinary save, as a running server has had (loads the route and the database paths)
    await client.workflow.saveVersion.mutate({
      yaml: 'name: warm-up\nanalysis:\n  stages:\n    - { id: A, op: noop }\n',
      name: 'warm-up',
    })
    // the peer: health with nothing else to do, for as long as a save may take
    const idleUntil = performance.now() + 2000
    const idle = await probeWhile(() => performance.now() < idleUntil)
    lines.push(
      `${'idle server (peer)'.padEnd(52)} health p50 ${f0(pct(idle, 0.5))} ms  p95 ${f0(pct(idle, 0.95))} ms  max ${f0(Math.max(...idle))} ms (${idle.length} probes)`,
    )
    let missed = 0
    for (const [what, yaml] of inputs(MAX_YAML_BYTES)) {
      let saving = true
      const probe = probeWhile(() => saving)
      const t0 = performance.now()
      let outcome: string
      try {
        const saved = await client.workflow.saveVersion.mutate({ yaml, name: what.slice(0, 60) })
        outcome = saved.version.valid
          ? 'stored valid'
          : `stored invalid: ${saved.version.problems[0]?.message.slice(0, 60)}`
      } catch (e) {
        outcome = `refused: ${(e as Error).message.slice(0, 60)}`
      } finally {
        saving = false
      }
      const took = performance.now() - t0
      const health = await probe
      const hMax = health.length ? Math.max(...health) : Number.NaN
      if (took > SAVE_TARGET_MS || hMax > HEALTH_TARGET_MS) missed++
      lines.push(
        `${what.padEnd(52)} save ${f0(took)} ms (${ratio(took, SAVE_TARGET_MS)})  health p50 ${f0(pct(health, 0.5))} ms  p95 ${f0(pct(health, 0.95))} ms  max ${f0(hMax)} ms (${ratio(hMax, HEALTH_TARGET_MS)}; ${(pct(health, 0.95) / Math.max(1, pct(idle, 0.95))).toFixed(1)}× idle p95)  ${outcome}`,
      )
    }
    lines.push(
      `${missed === 0 ? 'all targets met' : `${missed} input(s) missed a target`}; load average at end ${load()}`,
    )
  } finally {
    server.stdin.end()
    await new Promise((r) => server.once('exit', r))
    rmSync(home, { recursive: true, force: true })
  }
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const l of await benchHostile()) console.log(l)
  process.exit(0)
}
