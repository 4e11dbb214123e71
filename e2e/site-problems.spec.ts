/**
 * "plan ok" means the plan can run on the chosen site: a workflow whose language is fine but whose
 * pool asks for more than this host has is an error in the composer's Problems tab (with its
 * line:col, at the resource asked for) and in the editor, before ▶ Run; within the host, "plan ok".
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'

const SHOTS = path.join('test-results', 'screenshots')

const yaml = (gpus: number) => `analysis:
  stages:
    - { id: Train, op: shell, params: { command: "echo train" }, execution: { require: trainers } }
execution:
  backend: local
  strategy: local
  pools:
    trainers:
      workers: 1
      resources: { cpus: 1, gpus: ${gpus} }
`

test('a pool bigger than this host is a problem in the Problems tab, and the plan is not ok', async ({ page }) => {
  await page.goto('/compose?example=local-quickstart')
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)

  await page.evaluate((v) => window.__composer!.setValue(v), yaml(4096))
  const status = page.getByTestId('composer-status')
  await expect(status).toHaveText('1 error', { timeout: 20_000 })
  await expect(status).not.toContainText('plan ok')

  await page.getByTestId('plan-tab-problems').click()
  const problem = page.getByTestId('problems-list').locator('[data-code="host-gpus-insufficient"]')
  await expect(problem).toHaveAttribute('data-severity', 'error')
  await expect(problem).toHaveAttribute('data-line', '10')
  await expect(problem.locator('.loc')).toHaveText('10:29')
  await expect(problem).toContainText("on this site: pool 'trainers' needs 4096 GPUs per worker; this host has")
  await expect(problem).toContainText('lower resources.gpus')
  // the editor marks the same place
  await expect
    .poll(() =>
      page.evaluate(() =>
        window
          .__composer!.markers()
          .filter((m) => m.code === 'host-gpus-insufficient')
          .map((m) => [m.line, m.col, m.severity]),
      ),
    )
    .toEqual([[10, 29, 'error']])
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, 'site-problem-gpus.png') })

  // clicking it puts the cursor there
  await problem.click()
  await expect(page.getByTestId('composer-editor')).toHaveAttribute('data-cursor-line', '10')

  // within what this host has: plan ok, no site problem
  await page.evaluate((v) => window.__composer!.setValue(v), yaml(0))
  await expect(status).toHaveText('plan ok', { timeout: 20_000 })
  await expect(page.getByTestId('problems-list').locator('[data-code="host-gpus-insufficient"]')).toHaveCount(0)
})

test('the plan panel shows which profile set each execution value', async ({ page }) => {
  await page.goto('/compose?example=local-quickstart')
  // the example is loaded into the editor once it is visible: a value set before would be replaced
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  await page.evaluate(() =>
    window.__composer!.setValue(
      'use:\n  profiles: [dask_local]\nanalysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  config: { workers: 2 }\n',
    ),
  )
  await expect(page.getByTestId('plan-backend')).toHaveText('dask', { timeout: 20_000 })
  await page.getByTestId('plan-tab-pools').click()
  await expect(page.getByTestId('profile-layers')).toContainText('builtin < dask_local < workflow')
  const row = (k: string) => page.locator(`[data-testid="provenance-row"][data-key="${k}"]`)
  await expect(row('execution.backend')).toHaveAttribute('data-from', 'profile:dask_local')
  await expect(row('execution.config.workers')).toHaveAttribute('data-from', 'workflow')
  await expect(row('execution.config.memory_limit')).toHaveAttribute('data-from', 'profile:dask_local')
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, 'profile-provenance.png') })
})
