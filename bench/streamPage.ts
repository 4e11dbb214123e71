/**
 * The live run page measured where users feel it: Chromium (Debian's) driven by Playwright against
 * the production server the stream bench started. Used by bench/stream.bench.ts.
 *
 * For one run: the page is opened before its tasks start (the workflow's first stage sleeps), then
 * every animation frame is time-stamped while the run's events stream in. The window is from the
 * first change of a stage row's count to the run's end on the page; the figures are the frames per
 * second in it, the longest gap between two frames, and the main-thread tasks over 50 ms (longtask).
 */
import { chromium, type Browser, type Page } from 'playwright-core'

export interface PageFigures {
  /** frames per second while the page followed the run */
  fps: number
  /** length of the measured window (first count change → run finished on the page) */
  windowMs: number
  /** longest time between two frames in the window */
  worstFrameMs: number
  /** main-thread tasks over 50 ms in the window, and their total */
  longTasks: number
  longTaskMs: number
  /** elements in the page at the end (the DOM stays bounded however many tasks) */
  domNodes: number
}

export async function openBrowser(base: string, token: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  })
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } })
  // tsx compiles this file with esbuild's keepNames: functions sent to page.evaluate call __name
  await context.addInitScript({ content: 'globalThis.__name = (target) => target' })
  const page = await context.newPage()
  await page.goto(`${base}/?token=${token}`)
  return { browser, page }
}

/**
 * Opens the page of `runId` (started, its tasks not yet: the caller's workflow waits first) and
 * measures it until the run ends. `timeoutMs` bounds the wait for the end.
 */
export async function measureRunPage(page: Page, base: string, runId: string, timeoutMs: number): Promise<PageFigures> {
  await page.goto(`${base}/runs/${runId}`)
  await page.waitForSelector('[data-testid="stage-rows"] [data-done]', { timeout: 60_000 })
  await page.evaluate(() => {
    const rec = {
      frames: [] as number[],
      long: [] as { at: number; ms: number }[],
      firstChange: 0,
      end: 0,
      stop: false,
    }
    ;(window as unknown as { __pageBench: typeof rec }).__pageBench = rec
    const tick = () => {
      rec.frames.push(performance.timeOrigin + performance.now())
      if (!rec.stop) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
    const po = new PerformanceObserver((l) => {
      for (const e of l.getEntries()) rec.long.push({ at: performance.timeOrigin + e.startTime, ms: e.duration })
    })
    po.observe({ type: 'longtask', buffered: false })
    const rows = document.querySelector('[data-testid="stage-rows"]')
    const mo = new MutationObserver((records) => {
      const now = performance.timeOrigin + performance.now()
      if (!rec.firstChange && records.some((r) => r.attributeName === 'data-done')) rec.firstChange = now
    })
    if (rows) mo.observe(rows, { subtree: true, attributes: true, attributeFilter: ['data-done'] })
    const state = () => document.querySelector('[data-testid="run-state"]')?.getAttribute('data-state') ?? ''
    const finished = new Set(['succeeded', 'failed', 'cancelled'])
    const watch = setInterval(() => {
      if (finished.has(state())) {
        rec.end = performance.timeOrigin + performance.now()
        clearInterval(watch)
        mo.disconnect()
        // a second more: the frames right after the end count as the page's, not the idle page's
        setTimeout(() => {
          rec.stop = true
          po.disconnect()
        }, 1000)
      }
    }, 50)
  })
  await page.waitForFunction(
    () => (window as unknown as { __pageBench: { stop: boolean } }).__pageBench.stop,
    undefined,
    { timeout: timeoutMs, polling: 500 },
  )
  return page.evaluate(() => {
    const rec = (
      window as unknown as {
        __pageBench: { frames: number[]; long: { at: number; ms: number }[]; firstChange: number; end: number }
      }
    ).__pageBench
    const from = rec.firstChange || rec.frames[0] || 0
    const to = rec.end
    const frames = rec.frames.filter((t) => t >= from && t <= to)
    let worst = 0
    for (let i = 1; i < frames.length; i++) worst = Math.max(worst, frames[i]! - frames[i - 1]!)
    const long = rec.long.filter((l) => l.at >= from && l.at <= to)
    const windowMs = to - from
    return {
      fps: windowMs > 0 ? (1000 * frames.length) / windowMs : Number.NaN,
      windowMs,
      worstFrameMs: worst,
      longTasks: long.length,
      longTaskMs: long.reduce((n, l) => n + l.ms, 0),
      domNodes: document.getElementsByTagName('*').length,
    }
  })
}
