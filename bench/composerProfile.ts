/**
 * Where the composer's main-thread time goes: a Chrome CPU profile (CDP, through Playwright) of one
 * paste and one keystroke in a 2,000-stage workflow, summed by function (self time), plus the
 * long tasks. A tool for finding the cost, not a bench (its figures are not printed beside a peer).
 *   npx tsx bench/composerProfile.ts [fanout|chains]     (needs a production build: `next build`)
 *   SHOT=file.png also saves a screenshot after the paste
 */
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { generateFanOut } from '../examples/generate-large.ts'
import { generateWorkflow } from './composerWorkflows.ts'
import { cursorAfter, pasteAndSettle, withServer } from './composerBrowser.ts'

const TOKEN = 'bench-composer-token-0123456789'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

function summarise(p: Profile, top = 25): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i] as number)
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    if (!n) continue
    const f = n.callFrame
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/_next\//, '')}:${f.lineNumber}:${f.columnNumber}`
    self.set(key, (self.get(key) ?? 0) + dt)
    if (f.functionName !== '(idle)' && f.functionName !== '(program)') total += dt
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
  return [`busy ${total.toFixed(0)} ms`, ...rows.map(([k, v]) => `${v.toFixed(1).padStart(8)} ms  ${k}`)]
}

async function main() {
  const shape = process.argv[2] ?? 'fanout'
  const yaml = shape === 'chains' ? generateWorkflow(2000) : generateFanOut(2000, 48)
  const root = fileURLToPath(new URL('..', import.meta.url))
  await withServer(root, async (base) => {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run'],
    })
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } })
    await context.addInitScript({ content: 'globalThis.__name = (target) => target' })
    const page = await context.newPage()
    page.on('console', (m) => console.log('[page]', m.text()))
    await page.goto(`${base}/?token=${TOKEN}`)
    await page.goto(`${base}/compose?example=local-quickstart`)
    await page.waitForFunction(() => Boolean(window.__composer) && (window.__composer?.getValue().length ?? 0) > 0)
    await page.waitForSelector('.monaco-editor .view-lines')
    const cdp = await context.newCDPSession(page)
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
    await page.evaluate(() => {
      const w = window as unknown as { __long: number[] }
      w.__long = []
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.__long.push(Math.round(e.duration))
      }).observe({ type: 'longtask', buffered: false })
    })

    await cdp.send('Profiler.start')
    const t0 = Date.now()
    await pasteAndSettle(page, yaml, 2000)
    console.log(`paste → layout ready ${Date.now() - t0} ms (wall, incl. polling)`)
    if (process.env.SHOT) {
      // what a user sees after the paste (then the profile goes on)
      await page.waitForTimeout(1500)
      await page.screenshot({ path: process.env.SHOT })
      console.log(`screenshot: ${process.env.SHOT}`)
    }
    const paste = (await cdp.send('Profiler.stop')) as { profile: Profile }
    console.log('--- paste, main thread self time')
    for (const l of summarise(paste.profile)) console.log(l)
    await page.waitForTimeout(2500)
    console.log(
      'long tasks during paste:',
      await page.evaluate(() => (window as unknown as { __long: number[] }).__long),
    )

    await page.evaluate(() => {
      ;(window as unknown as { __long: number[] }).__long = []
    })
    await cursorAfter(page, 'nMuon >= 1')
    const before = await page.evaluate(
      () => document.querySelector('[data-testid="plan-facts"] code[title]')?.getAttribute('title') ?? '',
    )
    await cdp.send('Profiler.start')
    const k0 = Date.now()
    await page.keyboard.type('0')
    await page.waitForFunction(
      (b) => (document.querySelector('[data-testid="plan-facts"] code[title]')?.getAttribute('title') ?? '') !== b,
      before,
      { timeout: 30_000, polling: 'raf' },
    )
    console.log(`keystroke → plan ${Date.now() - k0} ms (wall)`)
    console.log(
      'status:',
      await page.evaluate(() => document.querySelector('.composer-editor-status .muted')?.textContent ?? ''),
    )
    await page.waitForTimeout(1500)
    const key = (await cdp.send('Profiler.stop')) as { profile: Profile }
    console.log('--- keystroke (+1.5 s), main thread self time')
    for (const l of summarise(key.profile)) console.log(l)
    console.log(
      'long tasks after the key:',
      await page.evaluate(() => (window as unknown as { __long: number[] }).__long),
    )
    await browser.close()
  })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
