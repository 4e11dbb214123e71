/**
 * The run page at scale and its defects, in Chromium against the production build (real local and
 * Dask runs):
 *  - a 10,000-task run of 20 chains × 50 stages × 10 partitions shows one group row, then 20 chains,
 *    then 50 stages, with counts that always add up while the events stream and end exact;
 *  - the failure alert names the failed task, its exit code and its last log lines (redacted);
 *  - with the log open, the task table's reason and retry stay on screen at 1280-1920 px;
 *  - the mouse wheel over the DAG scrolls the page and leaves the zoom alone;
 *  - a re-run's timeline spans the re-run, as its header's duration does;
 *  - a finished Dask run shows its workers `gone` in the Dask panel as in the workers panel;
 *  - the runs list follows the event stream (a new run appears and finishes) and does not poll;
 *  - the home page's "running now" follows the same stream (a run appears and leaves) and does not poll;
 *  - 20 concurrent subscribers of /api/events (5 joining late, 1 reconnecting from its last id) each
 *    receive every event of a 2,000-task run (one burst of 6,000 events) exactly once, in order, and
 *    none of them coalesced.
 * Screenshots go to test-results/screenshots/.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { subscribeOverHttp, type SseSubscription } from '../server/execution/stream-client'
import { E2E_TOKEN } from './auth-state'
import { saveWorkflow, startFromUi } from './runs'

const SHOTS = path.join('test-results', 'screenshots')
const STAMP = Date.now().toString(36)

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `run-scale-${name}.png`), fullPage: true })
}

function chainsWorkflow(chains: number, length: number, partitions: number): string {
  const files = Array.from({ length: partitions }, (_, i) => `p${i}.root`).join(', ')
  const stages: string[] = [
    '    - id: Prepare',
    '      op: shell',
    '      params: { command: "echo warming up; sleep 4" }',
  ]
  for (let c = 0; c < chains; c++)
    for (let s = 0; s < length; s++) {
      stages.push(`    - id: c${c}s${s}`, '      op: noop', `      needs: [${s === 0 ? 'Prepare' : `c${c}s${s - 1}`}]`)
      stages.push('      params: { partition: file, dataset: parts }')
    }
  return `version: 1
name: e2e-run-chains-${STAMP}
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

const GROUP = 'group:fanout:c0s0:1000'

test('a 10,000-task run of 1,000 stages: group rows with counts that add up while events stream', async ({ page }) => {
  test.setTimeout(240_000)
  const { workflowId } = await saveWorkflow(page.request, chainsWorkflow(20, 50, 10))
  await startFromUi(page, workflowId)
  const row = page.getByTestId(`stage-row-${GROUP}`)
  await expect(row).toHaveAttribute('data-stages', '1000')
  await expect(row).toHaveAttribute('data-total', '10000', { timeout: 30_000 })
  await expect(page.getByTestId(`stage-node-${GROUP}`)).toBeVisible()

  // sample the group row while the ~30,000 events arrive: the total never moves, done only grows
  const samples: { done: number; total: number }[] = []
  for (let i = 0; i < 600; i++) {
    const [done, total] = await Promise.all([row.getAttribute('data-done'), row.getAttribute('data-total')])
    samples.push({ done: Number(done), total: Number(total) })
    if (Number(done) === 10_000) break
    await page.waitForTimeout(100)
  }
  expect(samples.every((s) => s.total === 10_000)).toBe(true)
  for (let i = 1; i < samples.length; i++) expect(samples[i]!.done).toBeGreaterThanOrEqual(samples[i - 1]!.done)
  expect(
    samples.some((s) => s.done > 0 && s.done < 10_000),
    'seen part-way',
  ).toBe(true)
  await expect(row).toHaveAttribute('data-done', '10000')
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 })
  await expect(page.getByTestId(`stage-count-${GROUP}`)).toHaveText('10000/10000')

  // expand: 20 chains of 500 tasks, then one chain's 50 stages of 10 tasks
  await row.click()
  const chains = page.locator('[data-testid^="stage-row-group:chain:"]')
  await expect(chains).toHaveCount(20)
  const chain3 = page.getByTestId('stage-row-group:chain:c3s0:50')
  await expect(chain3).toHaveAttribute('data-done', '500')
  await expect(chain3).toHaveAttribute('data-total', '500')
  await chain3.click()
  // the rows are virtualised: the chain's first stages sit right below it
  const stageRow = page.getByTestId('stage-row-c3s0')
  await expect(stageRow).toHaveAttribute('data-done', '10')
  await expect(page.getByTestId('stage-row-count-c3s0')).toHaveText('10/10')
  await expect(page.locator('[data-testid^="stage-row-c3s"]').first()).toBeVisible()
  // the DAG expanded the same groups: the chain's stages are nodes now
  await expect(page.getByTestId('stage-node-c3s0')).toHaveCount(1)
  // a stage row filters the task table
  await stageRow.click()
  await expect(page.getByTestId('filter-stage')).toHaveValue('c3s0')
  await expect(page.locator('[data-testid^="task-row-"][data-stage="c3s0"]')).toHaveCount(10)
  await shot(page, 'chains-10k')
})

const FAILING = `version: 1
name: e2e-run-fail-${STAMP}
analysis:
  stages:
    - id: Fine
      op: shell
      needs: []
      params: { command: "echo all good" }
    - id: Breaks
      op: shell
      needs: []
      params:
        command: |
          for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do echo "step $i"; done
          echo "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789" >&2
          echo "cannot open input.root" >&2
          exit 3
execution:
  backend: local
  strategy: local
`

test('a failure is named with its exit code and last lines; with the log open the table fits', async ({ page }) => {
  test.setTimeout(120_000)
  const { workflowId } = await saveWorkflow(page.request, FAILING)
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'failed', { timeout: 60_000 })
  const alert = page.getByTestId('failure-alert')
  await expect(alert).toBeVisible()
  await expect(page.getByTestId('failure-task')).toHaveText('Breaks')
  await expect(page.getByTestId('failure-exit')).toContainText('exit code 3')
  const lines = page.getByTestId('failure-lines')
  await expect(lines).toContainText('cannot open input.root')
  await expect(lines).toContainText('[REDACTED]')
  await expect(lines).not.toContainText('abcdefghijklmnopqrstuvwxyz0123456789')
  await page.getByTestId('failure-open-log').click()
  await expect(page.getByTestId('task-log')).toBeVisible()
  await expect(page.getByTestId('task-log-text')).toContainText('step 15')

  const failedRow = page.locator('[data-testid^="task-row-"][data-stage="Breaks"]')
  for (const width of [1280, 1440, 1600, 1920]) {
    await page.setViewportSize({ width, height: 1000 })
    await failedRow.scrollIntoViewIfNeeded()
    const retry = failedRow.getByRole('button', { name: 'retry' })
    const reason = failedRow.locator('.tt-reason')
    for (const el of [retry, reason]) {
      const box = await el.boundingBox()
      expect(box, `visible at ${width}px`).not.toBeNull()
      expect(box!.x + box!.width, `inside the window at ${width}px`).toBeLessThanOrEqual(width)
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, `no page-wide horizontal scroll at ${width}px`).toBeLessThanOrEqual(0)
  }
  await shot(page, 'failure-log-open')
})

test('the mouse wheel over the run DAG scrolls the page and keeps the zoom', async ({ page }) => {
  test.setTimeout(90_000)
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1\nname: e2e-run-wheel-${STAMP}\nanalysis:\n  stages:\n    - id: A\n      op: noop\n    - id: B\n      op: noop\n`,
  )
  await startFromUi(page, workflowId)
  await page.setViewportSize({ width: 1280, height: 700 })
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 })
  const viewport = page.locator('[data-testid="run-graph"] .react-flow__viewport')
  await page.waitForTimeout(500) // the fit after the layout
  const before = await viewport.getAttribute('style')
  await page.evaluate(() => window.scrollTo(0, 0))
  const box = (await page.getByTestId('run-graph').boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.wheel(0, 300)
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0)
  expect(await viewport.getAttribute('style')).toBe(before)
})

/** `454 ms`, `1.2 s`, `3 min 04 s` -> ms */
function parseDuration(text: string): number {
  const t = text.trim()
  let m = /^(\d+) ms$/.exec(t)
  if (m) return Number(m[1])
  m = /^([\d.]+) s$/.exec(t)
  if (m) return Number(m[1]) * 1000
  m = /^(\d+) min (\d+) s$/.exec(t)
  if (m) return Number(m[1]) * 60_000 + Number(m[2]) * 1000
  throw new Error(`not a duration: ${text}`)
}

test("a re-run's timeline spans the re-run, as its header's duration does", async ({ page }) => {
  test.setTimeout(120_000)
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1\nname: e2e-run-rerun-${STAMP}\nanalysis:\n  stages:\n    - id: Slow\n      op: shell\n      params: { command: "sleep 5; echo slow done" }\n    - id: Quick\n      op: shell\n      params: { command: "echo quick" }\n`,
  )
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 })
  const firstRun = new URL(page.url()).pathname
  await page.getByTestId('rerun-stage').selectOption('Quick')
  await page.getByTestId('run-rerun').click()
  await page.waitForURL((u) => u.pathname !== firstRun, { timeout: 30_000 })
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 })
  await expect(page.getByTestId('gantt')).toContainText('reused from the earlier run')
  const header = parseDuration((await page.getByTestId('run-duration').textContent()) ?? '')
  const axis = parseDuration((await page.getByTestId('gantt-span').textContent()) ?? '')
  expect(header).toBeLessThan(5000) // the slow stage was reused, not run again
  // the axis is at least 1 s wide; beyond that it matches the header
  expect(axis).toBeLessThanOrEqual(Math.max(header, 1000) + 600)
  await shot(page, 'rerun')
})

test('a finished Dask run shows its workers gone in the Dask panel and the workers panel', async ({ page }) => {
  test.setTimeout(180_000)
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1\nname: e2e-run-dask-${STAMP}\nanalysis:\n  stages:\n    - id: Hello\n      op: shell\n      params: { command: "echo hello from dask" }\nexecution:\n  backend: dask\n  strategy: local\n  pools:\n    default: { workers: 1, resources: { cpus: 1, memory: 1GB } }\n`,
  )
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 150_000 })
  await expect(page.getByTestId('dask-panel')).toBeVisible()
  const daskStates = page.locator('[data-testid^="dask-worker-state-"]')
  await expect(daskStates.first()).toBeVisible({ timeout: 20_000 })
  await expect(page.getByTestId('dask-panel')).toContainText('the session ended with the run')
  for (const s of await daskStates.allTextContents()) expect(s).toBe('gone')
  const workerRows = page.locator('[data-testid="workers-panel"] [data-testid^="worker-"][data-state]')
  await expect(workerRows.first()).toHaveAttribute('data-state', 'gone', { timeout: 20_000 })
  for (const s of await workerRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))))
    expect(s).toBe('gone')
  await shot(page, 'dask-finished')
})

test('the runs list searches by workflow name and run id, filters by strategy, and counts pages', async ({ page }) => {
  test.setTimeout(90_000)
  const name = `e2e-runs-search-${STAMP}`
  const { versionId } = await saveWorkflow(
    page.request,
    `version: 1\nname: ${name}\nanalysis:\n  stages:\n    - id: A\n      op: noop\n`,
  )
  const ids: string[] = []
  for (let i = 0; i < 2; i++) {
    const res = await page.request.post('/api/trpc/run.start', {
      data: { json: { versionId } },
      headers: { 'content-type': 'application/json' },
    })
    expect(res.ok(), await res.text()).toBe(true)
    ids.push(((await res.json()) as { result: { data: { json: { runId: string } } } }).result.data.json.runId)
  }
  await page.goto('/runs')
  await page.getByTestId('runs-search').fill(name)
  await expect(page.locator('[data-testid^="run-row-"]')).toHaveCount(2)
  await expect(page.getByTestId('runs-page')).toContainText('page 1 of 1 · 2 runs')
  await expect(page).toHaveURL(new RegExp(`q=${name}`))
  await page.getByTestId('runs-search').fill(ids[0]!.slice(-10))
  await expect(page.locator('[data-testid^="run-row-"]')).toHaveCount(1)
  await expect(page.getByTestId(`run-row-${ids[0]}`)).toBeVisible()
  await page.getByTestId('runs-search').fill(name)
  await page.getByTestId('runs-filter-strategy').selectOption('slurm')
  await expect(page.locator('[data-testid^="run-row-"]')).toHaveCount(0)
  await page.getByTestId('runs-filter-strategy').selectOption('local')
  await expect(page.locator('[data-testid^="run-row-"]')).toHaveCount(2)
  await shot(page, 'runs-search')
})

test('the runs list follows the event stream: a new run appears and finishes there without polling', async ({
  page,
}) => {
  test.setTimeout(90_000)
  const name = `e2e-runs-live-${STAMP}`
  const { versionId } = await saveWorkflow(
    page.request,
    `version: 1\nname: ${name}\nanalysis:\n  stages:\n    - id: Wait\n      op: shell\n      params: { command: "sleep 2" }\n`,
  )
  const listReads: number[] = []
  page.on('request', (r) => {
    if (r.url().includes('/api/trpc/') && r.url().includes('run.list')) listReads.push(Date.now())
  })
  await page.goto(`/runs?q=${name}`)
  await expect(page.getByTestId('runs-page')).toContainText('0 runs')
  // idle: the list is not re-read while nothing happens (it used to poll every few seconds); it
  // re-reads once when its stream opens
  await expect(page.getByTestId('runs-list')).toHaveAttribute('data-stream', 'live')
  await page.waitForTimeout(2000)
  const idleFrom = listReads.length
  await page.waitForTimeout(6000)
  expect(listReads.length, 'no run.list reads while no run moves').toBe(idleFrom)
  const res = await page.request.post('/api/trpc/run.start', {
    data: { json: { versionId } },
    headers: { 'content-type': 'application/json' },
  })
  expect(res.ok(), await res.text()).toBe(true)
  const runId = ((await res.json()) as { result: { data: { json: { runId: string } } } }).result.data.json.runId
  const row = page.getByTestId(`run-row-${runId}`)
  await expect(row).toBeVisible({ timeout: 15_000 })
  await expect(row).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 })
  await expect(row).toContainText('1/1')
})

test('the timeline zooms, pans and labels its axis from the run start', async ({ page }) => {
  test.setTimeout(120_000)
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1\nname: e2e-run-zoom-${STAMP}\nanalysis:\n  stages:\n    - id: First\n      op: shell\n      params: { command: "sleep 3" }\n    - id: Second\n      op: shell\n      params: { command: "sleep 3" }\n`,
  )
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 })
  const svg = page.locator('[data-testid="gantt"] svg')
  await expect(svg).toBeVisible()
  const span = async () => Number(await svg.getAttribute('data-to')) - Number(await svg.getAttribute('data-from'))
  const whole = await span()
  expect(whole).toBeGreaterThan(5000)
  await page.getByTestId('gantt-zoom-in').click()
  await expect.poll(span).toBeLessThan(whole * 0.6)
  await expect(page.getByTestId('gantt-window')).toBeVisible()
  const from = Number(await svg.getAttribute('data-from'))
  // drag the plot to the left: the window moves later in the run
  const box = (await svg.boundingBox())!
  await page.mouse.move(box.x + box.width * 0.7, box.y + 8)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width * 0.4, box.y + 8, { steps: 5 })
  await page.mouse.up()
  await expect.poll(async () => Number(await svg.getAttribute('data-from'))).toBeGreaterThan(from)
  await page.getByTestId('gantt-zoom-fit').click()
  await expect.poll(span).toBe(whole)
  // lanes per pool and worker, labelled
  await expect(page.locator('[data-testid="gantt"] .gantt-pool')).toHaveCount(1)
  expect(await page.locator('[data-testid="gantt"] .gantt-lane').count()).toBeGreaterThan(0)
})

test('the home page follows the event stream: a run appears and leaves "running now" without polling', async ({
  page,
}) => {
  test.setTimeout(90_000)
  const { versionId } = await saveWorkflow(
    page.request,
    `version: 1\nname: e2e-overview-live-${STAMP}\nanalysis:\n  stages:\n    - id: Wait\n      op: shell\n      params: { command: "sleep 3" }\n`,
  )
  const reads: number[] = []
  page.on('request', (r) => {
    if (r.url().includes('/api/trpc/') && r.url().includes('overview.runs')) reads.push(Date.now())
  })
  await page.goto('/')
  await expect(page.getByTestId('ov-live')).toHaveAttribute('data-status', 'live')
  // idle: no re-read while nothing moves (it used to poll every 10 s; the credentials' time left is
  // re-read once a minute, so at most one read in the window)
  await page.waitForTimeout(2000)
  const idleFrom = reads.length
  await page.waitForTimeout(8000)
  expect(reads.length - idleFrom, 'overview.runs reads while no run moves').toBeLessThanOrEqual(1)
  const res = await page.request.post('/api/trpc/run.start', {
    data: { json: { versionId } },
    headers: { 'content-type': 'application/json' },
  })
  expect(res.ok(), await res.text()).toBe(true)
  const runId = ((await res.json()) as { result: { data: { json: { runId: string } } } }).result.data.json.runId
  // told by the stream within a second or two; a once-a-minute read could not do it in time
  const card = page.locator(`[data-testid="ov-active-run"][data-run="${runId}"]`)
  await expect(card).toBeVisible({ timeout: 15_000 })
  await expect(card).toHaveCount(0, { timeout: 30_000 })
})

test('20 concurrent subscribers of /api/events each receive every event exactly once, in order', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(180_000)
  // 2,000 partitions: the engine's burst (6,000 events) exceeds a viewer's backlog limit (4,000
  // events), which used to fold it for every viewer, slow or not. A viewer that reads is never folded:
  // every event once, in order, for late and reconnecting viewers too.
  const files = Array.from({ length: 2000 }, (_, i) => `f${i}.root`).join(', ')
  const { versionId } = await saveWorkflow(
    page.request,
    `version: 1\nname: e2e-subscribers-${STAMP}\ndata:\n  datasets:\n    - name: files\n      files: [${files}]\n` +
      `analysis:\n  stages:\n    - id: Warmup\n      op: shell\n      params: { command: "sleep 2" }\n` +
      `    - id: Parts\n      op: noop\n      needs: [Warmup]\n      params: { partition: file, dataset: files }\n`,
  )
  const res = await page.request.post('/api/trpc/run.start', {
    data: { json: { versionId } },
    headers: { 'content-type': 'application/json' },
  })
  expect(res.ok(), await res.text()).toBe(true)
  const runId = ((await res.json()) as { result: { data: { json: { runId: string } } } }).result.data.json.runId
  const received: number[][] = Array.from({ length: 20 }, () => [])
  let coalesced = 0
  let finalId = 0
  const open = (i: number, after: number) =>
    subscribeOverHttp({
      baseUrl: baseURL!,
      runId,
      lastEventId: after,
      headers: { authorization: `Bearer ${E2E_TOKEN}` },
      onMessage: (m) => {
        if (m.coalesced) coalesced++
        for (const e of m.events) {
          received[i]!.push(e.id)
          if (e.type === 'run.state' && e.payload.to === 'succeeded') finalId = e.id
        }
      },
    })
  const subs: SseSubscription[] = []
  for (let i = 0; i < 15; i++) subs[i] = open(i, 0)
  await expect.poll(() => received[0]!.length, { timeout: 60_000 }).toBeGreaterThan(500)
  for (let i = 15; i < 20; i++) subs[i] = open(i, 0)
  // one subscriber drops its connection and comes back from the last event id it received
  await expect.poll(() => received[3]!.length, { timeout: 60_000 }).toBeGreaterThan(1200)
  subs[3]!.close()
  await subs[3]!.done
  subs[3] = open(3, received[3]![received[3]!.length - 1]!)
  await expect.poll(() => finalId, { timeout: 120_000 }).toBeGreaterThan(0)
  // the reference: the whole run read afterwards from the store (a catch-up from event 0)
  const all: number[] = []
  const reference = subscribeOverHttp({
    baseUrl: baseURL!,
    runId,
    lastEventId: 0,
    headers: { authorization: `Bearer ${E2E_TOKEN}` },
    onMessage: (m) => all.push(...m.events.map((e) => e.id)),
  })
  await expect.poll(() => all[all.length - 1] ?? 0, { timeout: 60_000 }).toBeGreaterThanOrEqual(finalId)
  const last = all[all.length - 1]!
  await expect.poll(() => received.filter((r) => r[r.length - 1] === last).length, { timeout: 60_000 }).toBe(20)
  for (const s of [...subs, reference]) s.close()
  await Promise.all([...subs, reference].map((s) => s.done))
  expect(coalesced, 'nobody fell behind').toBe(0)
  // at least queued, running and succeeded of every partition
  expect(all.length).toBeGreaterThanOrEqual(3 * 2000)
  for (let i = 1; i < all.length; i++) expect(all[i]!).toBeGreaterThan(all[i - 1]!)
  for (const [i, ids] of received.entries()) {
    expect(subs[i]!.error, `subscriber ${i}`).toBeNull()
    expect(ids, `subscriber ${i}`).toEqual(all)
  }
})
