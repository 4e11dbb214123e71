/**
 * A fasthep-flow user pastes their execution block into the composer: Dask's LocalCluster keys that
 * Control Room cannot honour are errors at the value (with what to do instead), and a config key
 * nothing reads is a warning at the key with the spelling it may have meant: nothing is accepted
 * and then quietly ignored, and the plan is not "plan ok" until they are fixed.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'

const SHOTS = path.join('test-results', 'screenshots')

const yaml = (threads: number) => `analysis:
  stages:
    - { id: Scale, op: shell, params: { command: "echo scale" } }
execution:
  backend: dask
  strategy: local
  config:
    workers: 2
    threads_per_worker: ${threads}
    memory_limit: 1GB
    parition: short
`

test("fasthep-flow's Dask keys: refused at the value or honoured; an unread key is a warning", async ({ page }) => {
  await page.goto('/compose?example=local-quickstart')
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)

  await page.evaluate((v) => window.__composer!.setValue(v), yaml(4))
  const status = page.getByTestId('composer-status')
  await expect(status).toContainText('1 error', { timeout: 20_000 })
  await page.getByTestId('plan-tab-problems').click()
  const list = page.getByTestId('problems-list')
  const refused = list.locator('[data-code="unsupported-option"]')
  await expect(refused).toHaveAttribute('data-severity', 'error')
  await expect(refused.locator('.loc')).toHaveText('9:25')
  await expect(refused).toContainText("'threads_per_worker: 4' cannot be honoured")
  await expect(refused).toContainText("raise the pool's workers")
  const unread = list.locator('[data-code="unknown-option"]')
  await expect(unread).toHaveAttribute('data-severity', 'warning')
  await expect(unread.locator('.loc')).toHaveText('11:5')
  await expect(unread).toContainText("'parition' is read by nothing in Control Room")
  await expect(unread).toContainText('partition')
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, 'fasthep-flow-dask-keys.png') })

  // one thread per worker is what Control Room's workers are: accepted; the typo still warns
  await page.evaluate((v) => window.__composer!.setValue(v), yaml(1))
  await expect(status).not.toContainText('error', { timeout: 20_000 })
  await expect(list.locator('[data-code="unsupported-option"]')).toHaveCount(0)
  await expect(list.locator('[data-code="unknown-option"]')).toHaveCount(1)
})
