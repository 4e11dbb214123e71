/**
 * Live run monitoring in Chromium against the production build (real local runs: shell stages with
 * short sleeps). A workflow is saved through the tRPC API, then everything happens in the UI: start a
 * run with the Run button (preview, then start), watch the DAG nodes go pending → running →
 * succeeded with n/N, open a task's log while it runs and see its lines arrive, survive a dropped
 * event stream, download the full log; cancel a run with a long `sleep`; a plan this host cannot run
 * is refused before dispatch. Screenshots of the run page go to test-results/screenshots/.
 * (The browser state is authenticated by the auth-setup project: see playwright.config.ts.)
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { saveWorkflow, startFromUi } from './runs'
import { mustHave } from '../server/must'

const SHOTS = path.join('test-results', 'screenshots')
const STAMP = Date.now().toString(36)

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `run-${name}.png`), fullPage: true })
}

const node = (page: Page, stage: string) => page.getByTestId(`stage-node-${stage}`)

const LIVE = `version: 1
name: e2e-run-live-${STAMP}
data:
  datasets:
    - name: files
      files: [a.root, b.root, c.root, d.root, e.root, f.root]
analysis:
  stages:
    - id: Prepare
      op: shell
      params:
        command: echo "preparing inputs"; sleep 4
    - id: Count
      op: shell
      needs: [Prepare]
      params:
        partition: file
        dataset: files
        command: for i in 1 2 3 4 5 6 7 8 9 10; do echo "counting $CONTROLROOM_PARTITION line $i"; sleep 1; done
    - id: Summarise
      op: shell
      needs: [Count]
      params:
        command: echo "summary done"
execution:
  backend: local
  strategy: local
  config:
    workers: 3
`

test('start a run from the UI and watch it live: DAG states, log tail, workers, timeline', async ({
  page,
  context,
  playwright,
  baseURL,
}) => {
  test.setTimeout(120_000)
  const { workflowId } = await saveWorkflow(page.request, LIVE)
  const runId = await startFromUi(page, workflowId)

  // record every state each stage node shows, as the page sees it (polled in the page)
  await expect(node(page, 'Count')).toBeVisible()
  await page.evaluate(() => {
    const w = window as unknown as { __states: Record<string, string[]> }
    w.__states = {}
    setInterval(() => {
      for (const el of document.querySelectorAll<HTMLElement>('[data-testid^="stage-node-"]')) {
        const id = el.dataset.testid!.slice('stage-node-'.length)
        const seq = (w.__states[id] ??= [])
        const s = el.dataset.state!
        if (seq[seq.length - 1] !== s) seq.push(s)
      }
    }, 50)
  })

  // Prepare runs (4 s) while Count (6 partitions, one node) and Summarise wait
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'running')
  await expect(node(page, 'Prepare')).toHaveAttribute('data-state', 'running')
  await expect(node(page, 'Count')).toHaveAttribute('data-state', 'pending')
  await expect(node(page, 'Count')).toContainText('0/6')
  await expect(node(page, 'Summarise')).toContainText('0/1')
  await expect(page.getByTestId('run-stream')).toHaveAttribute('data-stream', 'live')

  // Count starts: 3 workers take 3 of its 6 partitions
  await expect(node(page, 'Prepare')).toHaveAttribute('data-state', 'succeeded', { timeout: 20_000 })
  await expect(node(page, 'Prepare')).toContainText('1/1')
  await expect(node(page, 'Count')).toHaveAttribute('data-state', 'running', { timeout: 20_000 })

  // open the log of a running Count task (click the node: the table shows that stage)
  await node(page, 'Count').click()
  await expect(page.getByTestId('filter-stage')).toHaveValue('Count')
  const runningRow = page.locator('[data-testid^="task-row-"][data-state="running"][data-stage="Count"]').first()
  await expect(runningRow).toBeVisible({ timeout: 15_000 })
  const taskId = (await runningRow.getAttribute('data-testid'))!.slice('task-row-'.length)
  // that task's row (the first running row may be another task by the time of the click: states are live)
  await page.getByTestId(`task-row-${taskId}`).click()
  const log = page.getByTestId('task-log')
  await expect(log).toHaveAttribute('data-task-id', taskId)
  await expect(log).toContainText(/counting \w\.root line 1\b/)
  // it follows while the task runs: later lines arrive without touching anything
  await expect(page.getByTestId(`task-row-${taskId}`)).toHaveAttribute('data-state', 'running')
  await expect(log).toContainText(/line [4-9]\b/, { timeout: 10_000 })
  await expect(page.getByTestId('workers-panel')).toContainText('default')
  await expect(
    page.getByTestId('workers-panel').locator('[data-testid^="worker-"][data-state="running"]').first(),
  ).toBeVisible()
  await shot(page, 'live-running')

  // drop the event stream for a moment: it reconnects from the last event id
  await context.setOffline(true)
  await page.waitForTimeout(1500)
  await context.setOffline(false)

  await expect(log).toContainText('line 10', { timeout: 15_000 })
  await expect(log).toHaveAttribute('data-done', 'true', { timeout: 15_000 })

  // the end: every node succeeded with all its tasks counted exactly once
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 40_000 })
  await expect(page.getByTestId('run-stream')).toHaveAttribute('data-stream', 'live', { timeout: 15_000 })
  for (const [stage, n] of [
    ['Prepare', 1],
    ['Count', 6],
    ['Summarise', 1],
  ] as const) {
    await expect(node(page, stage)).toHaveAttribute('data-state', 'succeeded')
    await expect(page.getByTestId(`stage-count-${stage}`)).toHaveText(`${n}/${n}`)
  }
  await expect(page.getByTestId('run-count-succeeded')).toHaveText('8 succeeded')

  // what the nodes showed over time
  const states = mustHave(
    await page.evaluate(() => (window as unknown as { __states: Record<string, string[]> }).__states),
    ['Count', 'Summarise'],
    'the states the nodes showed',
  )
  const order = (seq: string[], want: string[]) => {
    let i = 0
    for (const s of seq) if (s === want[i]) i++
    return i === want.length
  }
  expect(order(states.Count, ['pending', 'running', 'succeeded']), `Count showed ${states.Count.join(' → ')}`).toBe(
    true,
  )
  expect(order(states.Summarise, ['pending', 'succeeded']), `Summarise showed ${states.Summarise.join(' → ')}`).toBe(
    true,
  )
  expect(states.Count).not.toContain('failed')

  // the timeline has a bar per task; the pools panel its workers
  const gantt = page.getByTestId('gantt')
  await expect(gantt).toHaveAttribute('data-tasks', '8', { timeout: 15_000 })
  await expect(gantt.locator('rect[data-task]')).not.toHaveCount(0)
  await expect(page.getByTestId('workers-panel')).toContainText('default')

  // the table: filter by state, sort by duration
  await page.getByTestId('filter-stage').selectOption('')
  await page.getByTestId('filter-state').selectOption('succeeded')
  await expect(page.locator('[data-testid^="task-row-"]')).toHaveCount(8)
  await page.getByTestId('sort-duration').click()
  await expect(page.getByTestId('filter-sort')).toHaveValue('-duration')
  await expect(page.locator('[data-testid^="task-row-"]').first()).toHaveAttribute('data-stage', /Count|Prepare/)

  // the full log as a download
  const href = await page.getByTestId('task-log-download').getAttribute('href')
  expect(href).toBe(`/runs/${runId}/tasks/${taskId}/log?stream=stdout`)
  const dl = await page.request.get(href!)
  expect(dl.ok()).toBe(true)
  expect(dl.headers()['content-disposition']).toContain('attachment')
  const text = await dl.text()
  expect(text).toContain('line 1\n')
  expect(text).toContain('line 10\n')
  await shot(page, 'live-succeeded')
  // ... but not without access
  const anon = await playwright.request.newContext({ baseURL, storageState: { cookies: [], origins: [] } })
  const denied = await anon.get(href!)
  expect(denied.status()).toBe(401)
  expect(await denied.text()).not.toContain('counting')
  await anon.dispose()

  // it is in the runs list and the workflow's history
  await page.goto(`/runs?workflow=${workflowId}`)
  await expect(page.getByTestId(`run-row-${runId}`)).toHaveAttribute('data-state', 'succeeded')
  await expect(page.getByTestId(`run-row-${runId}`)).toContainText('8/8')
})

const LONG = `version: 1
name: e2e-run-cancel-${STAMP}
analysis:
  stages:
    - id: Quick
      op: shell
      params:
        command: echo quick
    - id: Long
      op: shell
      params:
        command: echo "long stage started"; sleep 300
    - id: After
      op: shell
      params:
        command: echo never
`

test('cancel a run with a long sleep stage', async ({ page }) => {
  const { workflowId } = await saveWorkflow(page.request, LONG)
  const runId = await startFromUi(page, workflowId)
  await expect(node(page, 'Long')).toHaveAttribute('data-state', 'running', { timeout: 20_000 })
  await expect(node(page, 'Quick')).toHaveAttribute('data-state', 'succeeded')

  // its log while it sleeps
  const row = page.locator('[data-testid^="task-row-"][data-stage="Long"]')
  await expect(row).toHaveAttribute('data-state', 'running')
  await row.click()
  await expect(page.getByTestId('task-log')).toContainText('long stage started')

  await page.getByTestId('run-cancel').click()
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'cancelled', { timeout: 30_000 })
  await expect(node(page, 'Long')).toHaveAttribute('data-state', 'cancelled')
  await expect(node(page, 'After')).toHaveAttribute('data-state', 'cancelled')
  await expect(row).toHaveAttribute('data-state', 'cancelled', { timeout: 10_000 })
  await expect(page.getByTestId('run-cancel')).toBeDisabled()
  await shot(page, 'cancelled')

  // the runs list filtered by state shows it
  await page.goto('/runs?state=cancelled')
  await expect(page.getByTestId(`run-row-${runId}`)).toHaveAttribute('data-state', 'cancelled')
  await page.getByTestId('runs-filter-state').selectOption('succeeded')
  await expect(page.getByTestId(`run-row-${runId}`)).toHaveCount(0)
})

const TOO_BIG = `version: 1
name: e2e-run-toobig-${STAMP}
analysis:
  stages:
    - id: Train
      op: shell
      params:
        command: echo train
      execution:
        require: gpu
execution:
  pools:
    gpu:
      workers: 1
      resources: {cpus: 1, gpus: 64}
`

test('a plan this host cannot satisfy is refused before dispatch, with the reason', async ({ page }) => {
  const { workflowId } = await saveWorkflow(page.request, TOO_BIG)
  await page.goto(`/runs?workflow=${workflowId}`)
  await page.getByTestId('start-run-button').click()
  const problems = page.getByTestId('start-run-problems')
  await expect(problems).toBeVisible()
  await expect(problems).toContainText('cannot start')
  await expect(problems).toContainText('gpu')
  await expect(page).toHaveURL(/\/runs\?workflow=/)
  await expect(page.getByTestId('start-run-anyway')).toHaveCount(0)
  await shot(page, 'refused')
})

const BIG_FILES = Array.from({ length: 10_000 }, (_, i) => `f${String(i).padStart(5, '0')}.root`).join(', ')
const BIG = `version: 1
name: e2e-run-big-${STAMP}
data:
  datasets:
    - name: files
      files: [${BIG_FILES}]
analysis:
  stages:
    - id: Prepare
      op: shell
      params:
        command: echo warming up; sleep 3
    - id: Process
      op: noop
      needs: [Prepare]
      params:
        partition: file
        dataset: files
    - id: Merge
      op: noop
      needs: [Process]
`

test('a 10,000-task run stays usable: one node with counts, bounded DOM, exact totals', async ({ page }) => {
  test.setTimeout(180_000)
  const { workflowId } = await saveWorkflow(page.request, BIG)
  const runId = await startFromUi(page, workflowId)
  await expect(page.getByTestId('stage-count-Process')).toHaveText('0/10000')
  // watch the main thread while the burst of ~30,000 events arrives
  await page.evaluate(() => {
    const w = window as unknown as { __long: number[] }
    w.__long = []
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) w.__long.push(e.duration)
    }).observe({ type: 'longtask', buffered: false })
  })
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 })
  await expect(page.getByTestId('stage-count-Process')).toHaveText('10000/10000', { timeout: 15_000 })
  await expect(node(page, 'Process')).toHaveAttribute('data-state', 'succeeded')
  await expect(page.getByTestId('run-count-succeeded')).toHaveText('10002 succeeded')
  const long = await page.evaluate(() => (window as unknown as { __long: number[] }).__long)
  const worst = Math.max(0, ...long)
  console.log(`10,000 tasks: ${long.length} long tasks on the main thread, the longest ${Math.round(worst)} ms`)
  expect(worst, 'no main-thread stall of a second or more').toBeLessThan(1000)

  // the DOM stays small: the rows in view (the table is virtualised), coalesced timeline bars
  await expect(page.getByTestId('task-count')).toHaveText('10,002 tasks', { timeout: 60_000 })
  const inDom = await page.locator('[data-testid^="task-row-"]').count()
  expect(inDom).toBeGreaterThan(0)
  expect(inDom).toBeLessThan(100)
  await expect(page.getByTestId('gantt')).toHaveAttribute('data-tasks', /^(10000|10001|10002)$/, { timeout: 20_000 })
  const bars = Number(await page.getByTestId('gantt').getAttribute('data-bars'))
  expect(bars).toBeGreaterThan(0)
  expect(bars).toBeLessThan(3000)

  // the table answers at once: filter by stage, sort, and scroll to the end of the list
  await node(page, 'Process').click()
  await expect(page.getByTestId('task-count')).toHaveText('10,000 of 10,002 tasks')
  await expect(page.getByTestId('task-table')).not.toContainText('f09999')
  await page.getByTestId('task-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight))
  // the last partition's row is drawn once scrolled to, and the DOM still holds only the rows in view
  await expect(page.getByTestId('task-table')).toContainText('f09999')
  expect(await page.locator('[data-testid^="task-row-"]').count()).toBeLessThan(100)
  await page.getByTestId('sort-started').click()
  await expect(page.getByTestId('filter-sort')).toHaveValue('started')
  await page.getByTestId('filter-state').selectOption('running')
  await expect(page.getByTestId('task-count')).toHaveText('0 of 10,002 tasks')
  await expect(page.getByTestId('task-table')).toContainText('No task matches the filters.')
  await shot(page, 'big-10k')
  expect(runId).toBeTruthy()
})
