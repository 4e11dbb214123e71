/**
 * The composer measured where users feel it: Chromium (Debian's) driven by Playwright against the
 * production build served by `next start`. Used by bench/composer.bench.ts.
 *
 * Per workflow: paste → first nodes painted (quick layout) → settled (final layout, nothing moves
 * afterwards); keystrokes in a parameter (the first after the paste, and the median of five) → plan
 * panel shows the new plan, the longest main-thread task meanwhile, and whether the graph was laid
 * out again; pan frames per second.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'

const TOKEN = 'bench-composer-token-0123456789'

export interface BenchWorkflow {
  label: string
  yaml: string
  stages: number
  /** the keystroke goes right after the first occurrence of this text (inside a parameter value) */
  editAfter: string
  /** what is typed there (one character) */
  typed: string
}

export interface BrowserFigures {
  label: string
  stages: number
  visibleNodes: number
  groups: number
  firstPaintMs: number
  settledMs: number
  movedAfterSettle: number
  /** the first keystroke after the paste */
  keystrokePlanMs: number
  /** the median over all the keystrokes measured */
  keystrokePlanMedianMs: number
  keystrokes: number
  /** over all the keystrokes */
  keystrokeLongestTaskMs: number
  keystrokeRelayouts: number
  panFps: number
  panFpsZoomedOut: number
}

async function waitForHealth(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`the server did not answer ${url} within ${ms} ms`)
}

/** Starts `next start` on the given build, runs `fn`, stops the server. Null when there is no build. */
export async function withServer<T>(root: string, fn: (base: string) => Promise<T>): Promise<T | null> {
  const dist = process.env.NEXT_DIST_DIR || '.next'
  if (!existsSync(join(root, dist, 'BUILD_ID'))) return null
  const port = Number(process.env.BENCH_PORT ?? 3391)
  const home = join(root, 'var', 'bench-composer')
  mkdirSync(home, { recursive: true })
  const server: ChildProcess = spawn('npx', ['next', 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: {
      ...process.env,
      NEXT_DIST_DIR: dist,
      NEXT_TELEMETRY_DISABLED: '1',
      CONTROLROOM_TOKEN: TOKEN,
      CONTROLROOM_HOME: home,
      DATABASE_URL: `file:${join(home, 'controlroom.db')}`,
    },
    stdio: 'ignore',
    detached: true,
  })
  try {
    await waitForHealth(`http://127.0.0.1:${port}/api/health`, 120_000)
    return await fn(`http://127.0.0.1:${port}`)
  } finally {
    if (server.pid) process.kill(-server.pid, 'SIGTERM')
  }
}

export async function measureInChromium(base: string, workflows: BenchWorkflow[]): Promise<BrowserFigures[]> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  })
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } })
    // tsx compiles this file with esbuild's keepNames: functions sent to page.evaluate call __name
    await context.addInitScript({ content: 'globalThis.__name = (target) => target' })
    const page = await context.newPage()
    await page.goto(`${base}/?token=${TOKEN}`)
    const out: BrowserFigures[] = []
    for (const w of workflows) out.push(await measureOne(page, base, w))
    return out
  } finally {
    await browser.close()
  }
}

/** Pastes `yaml` into the open composer and waits until its plan of `stages` stages is laid out. */
export async function pasteAndSettle(page: Page, yaml: string, stages: number): Promise<void> {
  await page.evaluate((y) => window.__composer?.setValue(y), yaml)
  await page.waitForFunction(
    (n) =>
      (document.querySelector('[data-testid="plan-facts"]')?.textContent ?? '').includes(`${n} stages`) &&
      document.querySelector<HTMLElement>('[data-testid="pipeline-graph"]')?.dataset.layout === 'ready',
    stages,
    { timeout: 120_000, polling: 50 },
  )
}

/** Puts the editor's cursor right after the first occurrence of `text`. */
export async function cursorAfter(page: Page, text: string): Promise<void> {
  await page.evaluate((after) => {
    const doc = window.__composer?.getValue() ?? ''
    const lines = doc.slice(0, doc.indexOf(after) + after.length).split('\n')
    window.__composer?.setCursor(lines.length, (lines[lines.length - 1]?.length ?? 0) + 1)
  }, text)
}

async function measureOne(page: Page, base: string, w: BenchWorkflow): Promise<BrowserFigures> {
  await page.goto(`${base}/compose?example=local-quickstart`)
  await page.waitForFunction(() => Boolean(window.__composer) && (window.__composer?.getValue().length ?? 0) > 0)
  await page.waitForSelector('.monaco-editor .view-lines')

  // paste → first paint → settled
  const paste = await page.evaluate(
    async ({ yaml, stages }) => {
      const graphEl = () => document.querySelector<HTMLElement>('[data-testid="pipeline-graph"]')
      const planned = () =>
        (document.querySelector('[data-testid="plan-facts"]')?.textContent ?? '').includes(`${stages} stages`)
      const t0 = performance.now()
      window.__composer?.setValue(yaml)
      let firstPaint = -1
      let settled = -1
      await new Promise<void>((resolve) => {
        const tick = () => {
          const g = graphEl()
          if (firstPaint < 0 && planned() && g?.querySelector('.react-flow__node')) firstPaint = performance.now() - t0
          if (firstPaint >= 0 && g?.dataset.layout === 'ready') {
            settled = performance.now() - t0
            resolve()
          } else if (performance.now() - t0 > 120_000) resolve()
          else requestAnimationFrame(tick)
        }
        requestAnimationFrame(tick)
      })
      return { firstPaint, settled }
    },
    { yaml: w.yaml, stages: w.stages },
  )
  const positions = () =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('.react-flow__node')].map(
        (n) => `${n.dataset.id}@${n.style.transform}`,
      ),
    )
  // the view may still fit itself once; node positions (in graph space) must not change afterwards
  await page.waitForTimeout(300)
  const atSettle = new Set(await positions())
  await page.waitForTimeout(1500)
  const later = await positions()
  const movedAfterSettle = later.filter((p) => !atSettle.has(p) && atSettle.size > 0).length
  const graphInfo = await page.evaluate(() => {
    const g = document.querySelector<HTMLElement>('[data-testid="pipeline-graph"]')
    return { nodes: Number(g?.dataset.nodes ?? 0), groups: Number(g?.dataset.groups ?? 0) }
  })

  // keystrokes in a parameter: plan panel updated, longest main-thread task, re-layouts. The first
  // comes right after the paste (the worker's code is least warmed up); the median of all says what
  // typing feels like, less at the mercy of one descheduling on a shared machine.
  const keys: KeystrokeFigures[] = []
  for (let i = 0; i < KEYSTROKES; i++) keys.push(await measureKeystroke(page, w.editAfter, w.typed))
  const first = keys[0] ?? { ms: -1, longest: 0, relayouts: 0 }

  const panFps = await pan(page, null)
  const panFpsZoomedOut = await pan(page, 0.12)
  return {
    label: w.label,
    stages: w.stages,
    visibleNodes: graphInfo.nodes,
    groups: graphInfo.groups,
    firstPaintMs: paste.firstPaint,
    settledMs: paste.settled,
    movedAfterSettle,
    keystrokePlanMs: first.ms,
    keystrokePlanMedianMs: median(keys.map((k) => k.ms)),
    keystrokes: keys.length,
    keystrokeLongestTaskMs: Math.max(0, ...keys.map((k) => k.longest)),
    keystrokeRelayouts: keys.reduce((n, k) => n + k.relayouts, 0),
    panFps,
    panFpsZoomedOut,
  }
}

/** Drags the graph for ~2 s with the mouse and counts animation frames. */
async function pan(page: Page, zoom: number | null): Promise<number> {
  const box = await page.locator('[data-testid="pipeline-graph"] .react-flow__pane').boundingBox()
  if (!box) return 0
  if (zoom !== null) {
    // zoom out with the wheel (over the pane) until the far view
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    for (let i = 0; i < 12; i++) await page.mouse.wheel(0, 300)
    await page.waitForTimeout(500)
  }
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number; __counting: boolean }
    w.__frames = 0
    w.__counting = true
    const f = () => {
      if (!w.__counting) return
      w.__frames++
      requestAnimationFrame(f)
    }
    requestAnimationFrame(f)
  })
  const t0 = Date.now()
  const cx = box.x + box.width / 2
  const cy = box.y + box.height / 2
  await page.mouse.move(cx, cy)
  await page.mouse.down()
  for (let i = 0; Date.now() - t0 < 2000; i++) {
    const a = i / 10
    await page.mouse.move(cx + Math.sin(a) * 250, cy + Math.cos(a) * 150)
  }
  await page.mouse.up()
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number; __counting: boolean }
    w.__counting = false
    return w.__frames
  })
  return frames / ((Date.now() - t0) / 1000)
}

/** Keystrokes measured per workflow, each after the plan of the last one settled. */
const KEYSTROKES = 5

interface KeystrokeFigures {
  ms: number
  longest: number
  relayouts: number
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1] ?? -1
}

/** One keystroke right after `editAfter`: until the plan panel shows the new plan's hash. */
async function measureKeystroke(page: Page, editAfter: string, typed: string): Promise<KeystrokeFigures> {
  await page.evaluate((after) => {
    const text = window.__composer?.getValue() ?? ''
    const lines = text.slice(0, text.indexOf(after) + after.length).split('\n')
    window.__composer?.setCursor(lines.length, (lines[lines.length - 1]?.length ?? 0) + 1)
    const g = document.querySelector<HTMLElement>('[data-testid="pipeline-graph"]')
    const state = {
      before: document.querySelector('[data-testid="plan-facts"] code[title]')?.getAttribute('title') ?? '',
      keyAt: 0,
      relayouts: 0,
      long: [] as number[],
      stop: () => {},
    }
    const mo = new MutationObserver(() => {
      if (g?.dataset.layout === 'pending') state.relayouts++
    })
    if (g) mo.observe(g, { attributes: true, attributeFilter: ['data-layout'] })
    const po = new PerformanceObserver((l) => {
      for (const e of l.getEntries()) state.long.push(e.duration)
    })
    po.observe({ type: 'longtask', buffered: false })
    const onKey = (e: KeyboardEvent) => {
      if (!state.keyAt) state.keyAt = e.timeStamp
    }
    document.addEventListener('keydown', onKey, true)
    state.stop = () => {
      mo.disconnect()
      po.disconnect()
      document.removeEventListener('keydown', onKey, true)
    }
    ;(window as unknown as { __key: typeof state }).__key = state
  }, editAfter)
  await page.keyboard.type(typed)
  return await page.evaluate(async () => {
    const state = (
      window as unknown as {
        __key: { before: string; keyAt: number; relayouts: number; long: number[]; stop(): void }
      }
    ).__key
    const hash = () => document.querySelector('[data-testid="plan-facts"] code[title]')?.getAttribute('title') ?? ''
    let ms = -1
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (hash() !== state.before) {
          ms = performance.now() - state.keyAt
          resolve()
        } else if (performance.now() - state.keyAt > 30_000) resolve()
        else requestAnimationFrame(tick)
      }
      requestAnimationFrame(tick)
    })
    await new Promise((r) => setTimeout(r, 1000))
    state.stop()
    return { ms, longest: state.long.length ? Math.max(...state.long) : 0, relayouts: state.relayouts }
  })
}
