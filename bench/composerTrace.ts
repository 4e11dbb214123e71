/**
 * Where one keystroke's time goes in the composer, across threads (the page, the compile worker,
 * monaco-yaml's worker): a Chromium trace of the last of KEYS keystrokes in a 2,000-stage workflow,
 * listing each thread's tasks after the key with wall and CPU time (CPU time is what to compare on a
 * loaded machine), and with PROFILES=1 each thread's sampled functions. A tool for finding the cost,
 * not a bench (its figures are not printed beside a peer). Needs a production build (`next build`).
 *   SHAPE=chains|fanout KEYS=3 PROFILES=1 npx tsx bench/composerTrace.ts
 */
// biome-ignore-all lint/suspicious/noExplicitAny: Chromium's trace events are untyped JSON
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { generateFanOut } from '../examples/generate-large.ts'
import { generateWorkflow } from './composerWorkflows.ts'
import { cursorAfter, pasteAndSettle, withServer } from './composerBrowser.ts'
const TOKEN = 'bench-composer-token-0123456789'
const TRACE = join(tmpdir(), 'composer-keystroke-trace.json')
const shape = process.env.SHAPE ?? 'fanout'
const keys = Number(process.env.KEYS ?? 3)
async function main() {
  const yaml = shape === 'chains' ? generateWorkflow(2000) : generateFanOut(2000, 48)
  const root = fileURLToPath(new URL('..', import.meta.url))
  await withServer(root, async (base) => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run'],
    })
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } })
    await context.addInitScript({ content: 'globalThis.__name = (target) => target' })
    const page = await context.newPage()
    await page.goto(`${base}/?token=${TOKEN}`)
    await page.goto(`${base}/compose?example=local-quickstart`)
    await page.waitForFunction(() => Boolean(window.__composer) && (window.__composer?.getValue().length ?? 0) > 0)
    await page.waitForSelector('.monaco-editor .view-lines')
    await pasteAndSettle(page, yaml, 2000)
    await page.waitForTimeout(2000)
    await cursorAfter(page, 'nMuon >= 1')
    for (let k = 0; k < keys; k++) {
      const before = await page.evaluate(
        () => document.querySelector('[data-testid="plan-facts"] code[title]')?.getAttribute('title') ?? '',
      )
      const last = k === keys - 1
      if (last)
        await browser.startTracing(page, {
          path: TRACE,
          categories: [
            'devtools.timeline',
            'disabled-by-default-devtools.timeline',
            'v8.execute',
            'toplevel',
            'blink.user_timing',
            'v8',
            'disabled-by-default-v8.gc',
            'disabled-by-default-v8.cpu_profiler',
          ],
        })
      const k0 = Date.now()
      await page.keyboard.type(String(k))
      await page.waitForFunction(
        (b) => (document.querySelector('[data-testid="plan-facts"] code[title]')?.getAttribute('title') ?? '') !== b,
        before,
        { timeout: 30_000, polling: 'raf' },
      )
      const status = await page.evaluate(
        () => document.querySelector('.composer-editor-status .muted')?.textContent ?? '',
      )
      console.log(`key ${k}: → plan ${Date.now() - k0} ms (wall) · ${status}`)
      if (last) {
        await page.waitForTimeout(300)
        await browser.stopTracing()
      } else await page.waitForTimeout(800)
    }
    await browser.close()
  })
  const tr = JSON.parse(readFileSync(TRACE, 'utf8'))
  const ev: any[] = tr.traceEvents ?? tr
  const names = new Map<string, string>()
  for (const e of ev) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name)
  const key = ev.find((e) => e.name === 'EventDispatch' && e.args?.data?.type === 'keydown')
  const t0 = key?.ts ?? 0
  console.log('keydown at', t0)
  if (process.env.PROFILES) profiles(ev, t0)
  const tasks = ev.filter(
    (e) =>
      e.ph === 'X' &&
      (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') &&
      e.dur > 1500 &&
      e.ts >= t0 - 1000,
  )
  for (const t of tasks.sort((a, b) => a.ts - b.ts)) {
    const th = names.get(`${t.pid}:${t.tid}`) ?? `${t.pid}:${t.tid}`
    if (!/Main|Worker|Dedicated/i.test(th)) continue
    const inner = ev.filter(
      (e) =>
        e.ph === 'X' &&
        e.pid === t.pid &&
        e.tid === t.tid &&
        e.ts >= t.ts &&
        e.ts + e.dur <= t.ts + t.dur &&
        e !== t &&
        e.dur > 1000 &&
        e.name !== 'RunTask' &&
        e.name !== 'ThreadControllerImpl::RunTask',
    )
    const desc = inner
      .slice(0, 8)
      .map(
        (e) =>
          `${e.name}${e.args?.data?.type ? `(${e.args.data.type})` : ''}${e.args?.data?.functionName ? `(${e.args.data.functionName} ${String(e.args.data.url ?? '').replace(/^.*\//, '')})` : ''} ${(e.dur / 1000).toFixed(1)}`,
      )
      .join(' | ')
    console.log(
      `${((t.ts - t0) / 1000).toFixed(1).padStart(7)} ms  +${(t.dur / 1000).toFixed(1).padStart(6)} ms (cpu ${((t.tdur ?? 0) / 1000).toFixed(1).padStart(6)})  ${(th + ' ' + t.tid).padEnd(30)} ${desc}`,
    )
  }
}
function profiles(ev: any[], t0: number) {
  // ProfileChunk events per (pid, id): nodes + samples + timeDeltas
  const byId = new Map<
    string,
    {
      tid: number
      nodes: Map<number, any>
      parent: Map<number, number>
      samples: number[]
      deltas: number[]
      start: number
    }
  >()
  for (const e of ev) {
    if (e.name === 'Profile')
      byId.set(`${e.pid}:${e.id}`, {
        tid: e.tid,
        nodes: new Map(),
        parent: new Map(),
        samples: [],
        deltas: [],
        start: e.args?.data?.startTime ?? 0,
      })
  }
  for (const e of ev) {
    if (e.name !== 'ProfileChunk') continue
    const p = byId.get(`${e.pid}:${e.id}`)
    if (!p) continue
    const d = e.args?.data ?? {}
    for (const n of d.cpuProfile?.nodes ?? []) {
      p.nodes.set(n.id, n)
      if (n.parent) p.parent.set(n.id, n.parent)
    }
    for (const s of d.cpuProfile?.samples ?? []) p.samples.push(s)
    for (const t of d.timeDeltas ?? []) p.deltas.push(t)
  }
  for (const [k, p] of byId) {
    let ts = p.start
    const self = new Map<string, number>()
    const total = new Map<string, number>()
    let sum = 0
    for (let i = 0; i < p.samples.length; i++) {
      ts += p.deltas[i] ?? 0
      if (ts < t0) continue
      const dt = (p.deltas[i + 1] ?? 0) / 1000
      const n = p.nodes.get(p.samples[i]!)
      if (!n) continue
      const name = (x: any) =>
        `${x.callFrame.functionName || '(anon)'} ${String(x.callFrame.url).replace(/^.*\//, '')}:${x.callFrame.lineNumber}:${x.callFrame.columnNumber}`
      const key = name(n)
      if (/\((idle|program)\)/.test(key)) continue
      sum += dt
      self.set(key, (self.get(key) ?? 0) + dt)
      const seen = new Set<string>()
      for (let id: number | undefined = n.id; id !== undefined; id = p.parent.get(id)) {
        const nn = p.nodes.get(id)
        if (!nn) break
        const kk = name(nn)
        if (seen.has(kk)) continue
        seen.add(kk)
        total.set(kk, (total.get(kk) ?? 0) + dt)
      }
    }
    if (sum < 5) continue
    console.log(`--- profile ${k} tid ${p.tid}: ${sum.toFixed(1)} ms sampled after the key`)
    for (const [kk, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 18))
      console.log(`  self ${v.toFixed(1).padStart(6)}  ${kk}`)
    for (const [kk, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, 30))
      console.log(`  total ${v.toFixed(1).padStart(6)}  ${kk}`)
  }
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
