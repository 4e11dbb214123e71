/**
 * A Slurm run in Chromium against the production build and the REAL local Slurm
 * (scripts/services/slurm.sh, started by `npm test`; the server inherits SLURM_CONF).
 * Two stages need the one (fake) GPU of the node: both are submitted as Slurm jobs at once, one runs
 * while the other pends with Slurm's reason (Resources); the page shows each job's id, its pending
 * reason, then running, then completed.
 * Needs strategy `slurm` registered in the app: `import './strategies/slurm/index.ts'` in
 * server/execution/drivers.ts.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'

const SHOTS = path.join('test-results', 'screenshots')
const STAMP = Date.now().toString(36)

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `slurm-${name}.png`), fullPage: true })
}

const GPU_PAIR = `version: 1
name: e2e-slurm-${STAMP}
analysis:
  stages:
    - id: TrainA
      op: shell
      params:
        command: echo "TrainA in Slurm job $SLURM_JOB_ID"; sleep 6
      execution:
        require: gpu
    - id: TrainB
      op: shell
      needs: []
      params:
        command: echo "TrainB in Slurm job $SLURM_JOB_ID"; sleep 6
      execution:
        require: gpu
execution:
  backend: local
  strategy: slurm
  pools:
    gpu:
      workers: 2
      resources: { cpus: 1, gpus: 1, memory: 200MB }
`

test('a Slurm run shows pending (with the reason) -> running -> completed, with job ids', async ({ page }) => {
  test.setTimeout(120_000)
  const res = await page.request.post('/api/trpc/workflow.saveVersion', {
    data: { json: { yaml: GPU_PAIR, message: 'e2e slurm' } },
    headers: { 'content-type': 'application/json' },
  })
  expect(res.ok(), await res.text()).toBe(true)
  const saved = (await res.json()).result.data.json as { workflow: { id: string }; version: { valid: boolean } }
  expect(saved.version.valid).toBe(true)

  await page.goto(`/runs?workflow=${saved.workflow.id}`)
  await page.getByTestId('start-run-button').click()
  await page.waitForURL(/\/runs\/[^/?]+$/, { timeout: 30_000 })
  await expect(page.getByTestId('run-page')).toBeVisible()

  // record the states each Slurm worker (job) row shows over time, with its batch id and reason
  const panel = page.getByTestId('workers-panel')
  await expect(panel.locator('[data-testid^="worker-"]').first()).toBeVisible({ timeout: 30_000 })
  await page.evaluate(() => {
    const w = window as unknown as { __workers: Record<string, { states: string[]; ids: string[]; reasons: string[] }> }
    w.__workers = {}
    setInterval(() => {
      for (const row of document.querySelectorAll<HTMLElement>(
        '[data-testid="workers-panel"] tr[data-testid^="worker-"]',
      )) {
        const id = row.dataset.testid!
        const rec = (w.__workers[id] ??= { states: [], ids: [], reasons: [] })
        const cells = row.querySelectorAll('td')
        const s = row.dataset.state!
        if (rec.states[rec.states.length - 1] !== s) rec.states.push(s)
        const batch = cells[2]?.textContent?.trim() ?? ''
        if (batch && !rec.ids.includes(batch)) rec.ids.push(batch)
        const reason = cells[7]?.textContent?.trim() ?? ''
        if (reason && !rec.reasons.includes(reason)) rec.reasons.push(reason)
      }
    }, 50)
  })

  // one GPU: one job runs, the other pends with Slurm's reason, both with their job ids
  await expect(panel.locator('tr[data-state="running"]')).toHaveCount(1, { timeout: 30_000 })
  const pending = panel.locator('tr[data-state="pending-in-queue"]')
  await expect(pending).toHaveCount(1, { timeout: 15_000 })
  await expect(pending).toContainText('Resources')
  await expect(pending.locator('td').nth(2)).toHaveText(/^\d+$/)
  await expect(panel).toContainText('slurm')
  await shot(page, 'pending')

  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 })
  await expect(panel.locator('tr[data-state="gone"]')).toHaveCount(2, { timeout: 15_000 })
  for (const stage of ['TrainA', 'TrainB'])
    await expect(page.getByTestId(`stage-node-${stage}`)).toHaveAttribute('data-state', 'succeeded')
  await shot(page, 'completed')

  const seen = await page.evaluate(
    () =>
      (window as unknown as { __workers: Record<string, { states: string[]; ids: string[]; reasons: string[] }> })
        .__workers,
  )
  const rows = Object.values(seen)
  expect(rows.length).toBe(2)
  const order = (seq: string[], want: string[]) => {
    let i = 0
    for (const s of seq) if (s === want[i]) i++
    return i === want.length
  }
  // the job that waited for the GPU went pending -> running -> gone, showing the reason while pending
  const waited = rows.find((r) => r.states.includes('pending-in-queue'))!
  expect(order(waited.states, ['pending-in-queue', 'running', 'gone']), waited.states.join(' → ')).toBe(true)
  expect(waited.reasons.join(' ')).toContain('Resources')
  for (const r of rows) expect(r.ids.every((id) => /^\d+$/.test(id))).toBe(true)
  expect(new Set(rows.flatMap((r) => r.ids)).size).toBe(2)

  // each task's log names the Slurm job it ran in, the same id the page showed
  const row = page.locator('[data-testid^="task-row-"][data-stage="TrainA"]')
  await row.click()
  // the log's own text: the panel's footer ("23 bytes") follows it with no separator
  const logText = page.getByTestId('task-log-text')
  await expect(logText).toContainText(/TrainA in Slurm job \d+/)
  const jobInLog = (await logText.textContent())!.match(/Slurm job (\d+)/)![1]
  expect(rows.flatMap((r) => r.ids)).toContain(jobInLog)
})
