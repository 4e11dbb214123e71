/**
 * The control room (home page) and failure triage, in Chromium against the production build with
 * real local runs and the real Slurm of this machine (SLURM_CONF): what runs now with its stages
 * and pools, a failure named by its task and exit code, Fix and resume reusing the unchanged stage,
 * run parameters at launch recorded on the run, the cluster beside the pools our workflows ask
 * for, the theme toggle, the favicon. Screenshots go to test-results/screenshots/.
 */
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { saveWorkflow, startFromUi } from './runs'

const SHOTS = path.join('test-results', 'screenshots')
const STAMP = Date.now().toString(36)

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `overview-${name}.png`), fullPage: true })
}

const failing = (b: string) => `version: 1
name: e2e-resume-${STAMP}
analysis:
  stages:
    - id: Prepare
      op: shell
      params: { command: "echo prepared > $CONTROLROOM_TASK_DIR/out.txt" }
    - id: Analyse
      op: shell
      params: { command: "${b}" }
    - id: Report
      op: noop
`

test('a failure is named on the home page, and Fix and resume re-runs it reusing the unchanged stage', async ({
  page,
  request,
}) => {
  const { workflowId } = await saveWorkflow(request, failing('echo analysing; exit 3'))
  const runId = await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveText('failed', { timeout: 30_000 })

  await page.goto('/')
  const failure = page.locator(`[data-testid="ov-failure"][data-run="${runId}"]`)
  await expect(failure).toBeVisible()
  await expect(failure.getByTestId('ov-failed-task')).toContainText('stage Analyse failed: exit code 3')
  await shot(page, 'failure')

  await failure.getByRole('link', { name: 'Fix and resume' }).click()
  await page.waitForURL(new RegExp(`/runs/${runId}#fix-and-resume$`))
  const fix = page.getByTestId('fix-and-resume')
  await expect(fix).toBeVisible()
  // the edit happens in the composer, which says where to come back to
  await expect(fix.getByTestId('fix-edit-workflow')).toHaveAttribute(
    'href',
    `/compose?workflow=${workflowId}&resumeFrom=${runId}`,
  )
  // the edit happens in place, in the composer: type the fix, Save, and the banner resumes the run
  await fix.getByTestId('fix-edit-workflow').click()
  const banner = page.getByTestId('resume-banner')
  await expect(banner).toContainText('edit, Save, and resume it here')
  await page.waitForFunction(() => window.__composer?.getValue().includes('exit 3'))
  const { line, col } = await page.evaluate(() => {
    const lines = window.__composer!.getValue().split('\n')
    const i = lines.findIndex((l) => l.includes('exit 3'))
    return { line: i + 1, col: lines[i]!.indexOf('exit 3') + 'exit 3'.length + 1 }
  })
  await page.getByTestId('composer-editor').locator('.monaco-editor .view-lines').click()
  await page.evaluate(([l, c]) => window.__composer!.setCursor(l!, c!), [line, col])
  await page.keyboard.press('Backspace')
  await page.keyboard.type('0')
  await expect(page.getByTestId('save-state')).toHaveText('unsaved changes')
  await page.getByTestId('save-message').fill('fix Analyse')
  await page.getByTestId('save-button').click()
  await expect(page.getByTestId('saved-workflow-link')).toContainText('v2')
  await expect(banner.getByTestId('fix-resume-version')).toContainText('v2')
  await expect(banner.getByTestId('resume-stage-Prepare')).toHaveAttribute('data-verdict', 'reused')
  await expect(banner.getByTestId('resume-stage-Prepare')).toContainText('unchanged and succeeded')
  await expect(banner.getByTestId('resume-stage-Analyse')).toContainText('its definition changed: params.command')
  await expect(banner.getByTestId('resume-stage-Report')).toContainText('upstream stage Analyse runs again')
  await shot(page, 'fix-in-composer')

  // the run page offers the same choice with the same reasons
  await page.goto(`/runs/${runId}`)
  await expect(fix.getByTestId('fix-resume-version')).toContainText('v2')
  await expect(fix.getByTestId('resume-stage-Prepare')).toHaveAttribute('data-verdict', 'reused')
  await shot(page, 'fix-and-resume')

  // resume from the composer, where the fix was made
  await page.goto(`/compose?workflow=${workflowId}&resumeFrom=${runId}`)
  await expect(banner.getByTestId('resume-stage-Prepare')).toHaveAttribute('data-verdict', 'reused')
  await banner.getByTestId('fix-resume-start').click()
  await page.waitForURL((u) => u.pathname.startsWith('/runs/') && !u.pathname.endsWith(runId))
  await expect(page.getByTestId('run-state')).toHaveText('succeeded', { timeout: 30_000 })
  await expect(page.getByTestId('run-resumed-from')).toContainText('reused 1 of 3 stages')
  await expect(page.locator('.rh-version')).toHaveText('v2')
})

test('run parameters at launch override a stage param for this run and are shown on it', async ({ page, request }) => {
  const yaml = `version: 1
name: e2e-params-${STAMP}
analysis:
  stages:
    - id: Greet
      op: shell
      params: { command: "echo hello from the version" }
`
  const { workflowId } = await saveWorkflow(request, yaml)
  await page.goto(`/runs?workflow=${workflowId}`)
  await page.getByTestId('run-params-toggle').click()
  const text = page.getByLabel('Run parameters for this run only, one per line')
  await text.fill('nonsense')
  await expect(page.getByTestId('run-params-problems')).toContainText('line 1: expected `Stage.param = value`')
  await expect(page.getByTestId('start-run-button')).toBeDisabled()
  await text.fill('Greet.command = "echo hello from the launch"')
  await expect(page.getByTestId('start-run-button')).toHaveText('▶ Run with 1 parameter')
  await page.getByTestId('start-run-button').click()
  await page.waitForURL(/\/runs\/[^/?]+$/)
  await expect(page.getByTestId('run-state')).toHaveText('succeeded', { timeout: 30_000 })
  await expect(page.getByTestId('run-parameters')).toContainText('Greet.command = "echo hello from the launch"')
  await page.locator('[data-testid^="task-row-"]').first().click()
  await expect(page.getByTestId('task-log')).toContainText('hello from the launch')
})

test('what runs now: progress by stage, pools busy, queue depth, live until it ends', async ({ page, request }) => {
  const yaml = `version: 1
name: e2e-live-${STAMP}
data:
  datasets:
    - name: files
      files: [a, b, c, d, e, f]
analysis:
  stages:
    - id: Work
      op: shell
      params: { partition: file, dataset: files, command: "sleep 3" }
execution:
  pools:
    default: { workers: 2 }
`
  const { workflowId } = await saveWorkflow(request, yaml)
  const runId = await startFromUi(page, workflowId)
  const streams: string[] = []
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/events') streams.push(r.url())
  })
  await page.goto('/')
  // live over the run page's stream (/api/events), in its summary form
  await expect(page.getByTestId('ov-live')).toHaveAttribute('data-status', 'live')
  expect(streams.some((u) => new URL(u).searchParams.get('summary') === '1')).toBe(true)
  const card = page.locator(`[data-testid="ov-active-run"][data-run="${runId}"]`)
  await expect(card).toBeVisible()
  await expect(card.getByTestId('ov-pool').filter({ hasText: 'default' }).getByTestId('ov-pool-busy')).toHaveText('2')
  await expect(card.getByTestId('ov-queue-depth')).toContainText(/queue: [1-4] waiting/)
  await expect(card.locator('[data-testid="ov-stage"][data-stage="Work"]')).toContainText('/6')
  // beside it, what this host can give the pool
  await expect(page.getByTestId('ov-host').getByTestId('ov-fits')).toContainText(
    /default needs 2 × 1 CPU: this host can give (it|\d+ at once)/,
  )
  await shot(page, 'running')
  await expect(card.getByTestId('ov-run-progress')).toContainText(/[1-6] \/ 6 tasks done/, { timeout: 20_000 })
  await expect(card).toHaveCount(0, { timeout: 30_000 })
})

test('the cluster as Slurm sees it, beside the pools our workflows ask for', async ({ page, request }) => {
  await saveWorkflow(
    request,
    `version: 1
name: e2e-slurm-needs-${STAMP}
analysis:
  stages:
    - id: Index
      op: shell
      params: { command: "true" }
      execution: { require: high_memory }
execution:
  strategy: slurm
  pools:
    high_memory: { workers: 2, resources: { cpus: 1, memory: 3GB }, config: { partition: highmem } }
`,
  )
  // a job of ours held in the queue: the page lists it with why it waits
  const held = execFileSync('sbatch', [
    '--parsable',
    '--hold',
    '-J',
    `e2e-held-${STAMP}`,
    '-o',
    '/dev/null',
    '--wrap',
    'true',
  ])
    .toString()
    .trim()
    .split(';')[0]!
  test.info().attach('held job', { body: held })
  await page.goto('/')
  const slurm = page.getByTestId('ov-slurm')
  try {
    const pending = slurm.getByTestId('ov-pending').locator('tr', { hasText: `e2e-held-${STAMP}` })
    await expect(pending).toContainText(held)
    await expect(pending).toContainText(/held/i)
  } finally {
    execFileSync('scancel', [held])
  }
  await expect(slurm.locator('[data-testid="ov-partition"][data-partition="highmem"]')).toBeVisible()
  await expect(slurm.locator('[data-testid="ov-partition"][data-partition="debug"]')).toContainText('(default)')
  await expect(slurm.getByTestId('ov-fits')).toContainText(
    'high_memory needs 2 × 3 GB: 1 node of partition highmem can give it',
  )
  // HTCondor is not installed on this machine: the page says so and how to configure it
  await expect(page.getByTestId('ov-htcondor')).toContainText('condor_status is not installed')
  await shot(page, 'cluster')
})

test('an existing Dask cluster as its scheduler sees it: workers, what they offer, the pools they serve', async ({
  page,
  request,
}) => {
  test.setTimeout(120_000)
  // a real scheduler and one worker serving pool "default" with a 6 GB memory limit
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const address = `tcp://127.0.0.1:${port}`
  const py = process.env.CONTROLROOM_PYTHON ?? '/usr/bin/python3'
  const quiet = { stdio: 'ignore' as const, detached: true }
  const scheduler = spawn(
    py,
    ['-m', 'distributed.cli.dask_scheduler', '--host', '127.0.0.1', '--port', String(port), '--no-dashboard'],
    quiet,
  )
  const worker = spawn(
    py,
    [
      ...['-m', 'distributed.cli.dask_worker', address, '--nthreads', '1', '--no-nanny', '--no-dashboard'],
      ...['--name', `e2e-site-${STAMP}`, '--memory-limit', '6GiB', '--resources', 'pool.default=1'],
    ],
    quiet,
  )
  try {
    await saveWorkflow(
      request,
      `version: 1
name: e2e-dask-site-${STAMP}
analysis:
  stages:
    - id: Fit
      op: shell
      params: { command: "true" }
execution:
  backend: dask
  config: { scheduler_address: "${address}" }
  pools:
    default: { workers: 2, resources: { memory: 2GB } }
`,
    )
    await page.goto('/')
    const site = page.locator(`[data-testid="ov-dask-site"][data-address="${address}"]`)
    // the worker joins within seconds; the view is re-read every 10 s
    await expect(async () => {
      await page.reload()
      await expect(site.getByTestId('ov-dask-site-worker')).toHaveCount(1, { timeout: 3000 })
    }).toPass({ timeout: 60_000 })
    const row = site.getByTestId('ov-dask-site-worker')
    await expect(row).toContainText(`e2e-site-${STAMP}`)
    await expect(row).toContainText('6 GB')
    await expect(row).toContainText('default')
    await expect(site.getByTestId('ov-fits')).toContainText(
      `default needs 2 × 2 GB: only 1 worker of ${address} can give it, so one task of the pool runs at once`,
    )
    await shot(page, 'dask-site')
  } finally {
    // SIGKILL: a worker without a nanny that loses its scheduler can linger for minutes on SIGTERM
    for (const p of [worker, scheduler]) if (p.pid) process.kill(-p.pid, 'SIGKILL')
  }
  // once the scheduler is gone the page says so, with what to do
  await expect(async () => {
    await page.reload()
    await expect(page.locator(`[data-testid="ov-dask-site"][data-address="${address}"]`)).toContainText(
      'cannot connect',
      { timeout: 3000 },
    )
  }).toPass({ timeout: 30_000 })
})

test('theme: follows the system, the toggle overrides it and is remembered', async ({ browser }) => {
  const context = await browser.newContext({
    colorScheme: 'light',
    storageState: 'var/e2e/.auth/state.json',
  })
  const page = await context.newPage()
  await page.goto('/')
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  expect(await bg()).toBe('rgb(255, 255, 255)')
  await page.getByTestId('theme-toggle').click()
  expect(await bg()).toBe('rgb(15, 17, 21)')
  await page.reload()
  expect(await bg()).toBe('rgb(15, 17, 21)')
  await expect(page.getByTestId('theme-toggle')).toHaveAccessibleName('Switch to the light theme')
  await context.close()
})

test('keyboard: skip link first, then every control shows where focus is', async ({ page }) => {
  await page.goto('/')
  await page.keyboard.press('Tab')
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused()
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab')
    const outline = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement
      const s = getComputedStyle(el)
      return { tag: el.tagName, style: s.outlineStyle, width: s.outlineWidth }
    })
    expect(outline.style, `${outline.tag} has a visible focus outline`).toBe('solid')
    expect(outline.width).toBe('2px')
  }
})

test('the favicon is served', async ({ request }) => {
  const res = await request.get('/favicon.ico')
  expect(res.status()).toBe(200)
  expect(res.headers()['content-type']).toMatch(/image\/(x-icon|vnd\.microsoft\.icon)/)
})

test('the composer is usable at 900 px: editor, graph, plan and Save in view, nothing off-screen', async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 800 })
  await page.goto('/compose')
  await expect(page.locator('.monaco-editor').first()).toBeVisible({ timeout: 30_000 })
  await expect(page.getByTestId('plan-panel')).toBeVisible()
  const save = page.getByRole('button', { name: 'Save', exact: true })
  await expect(save).toBeInViewport()
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  )
  expect(overflow, 'the page does not scroll sideways').toBeLessThanOrEqual(0)
  for (const el of await page.locator('.topbar a, .topbar button, .plan-panel-head button').all()) {
    const box = await el.boundingBox()
    expect(box && box.x + box.width <= 900, `${await el.textContent()} is on screen`).toBe(true)
  }
  await shot(page, 'compose-900')
})
