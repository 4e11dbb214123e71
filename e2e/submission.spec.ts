/**
 * The composer's Submission tab: for every pool, the exact text that would be submitted (here the
 * Dask worker sbatch scripts of examples/dask-slurm.yaml), live from the YAML being edited, with a
 * Copy button; works whether or not Slurm is reachable (its preflight problem is shown).
 */
import { expect, test } from '@playwright/test'
import { generateLarge } from '../examples/generate-large'

test('Submission tab: #SBATCH lines per pool, updated live from the editor', async ({ page }) => {
  await page.goto('/compose?example=dask-slurm')
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)

  await page.getByTestId('plan-tab-submission').click()
  const def = page.getByTestId('submission-default')
  const hm = page.getByTestId('submission-high_memory')
  await expect(def.locator('pre')).toContainText('#SBATCH --partition=debug', { timeout: 30_000 })
  await expect(def.locator('pre')).toContainText('distributed.cli.dask_worker')
  await expect(hm.locator('pre')).toContainText('#SBATCH --mem=65536M')
  await expect(hm.locator('pre')).toContainText('#SBATCH --partition=highmem')
  await expect(page.getByTestId('submission-copy-default')).toBeVisible()

  // an unsaved edit is previewed: the high_memory pool's partition changes in the script
  await page.evaluate(() =>
    window.__composer!.setValue(window.__composer!.getValue().replace('partition: highmem', 'partition: bigmem')),
  )
  await expect(hm.locator('pre')).toContainText('#SBATCH --partition=bigmem', { timeout: 30_000 })
})

test('Submission tab previews a 20 KB workflow (sent in a POST body, not a GET URL)', async ({ page }) => {
  let stages = 150
  let yaml = generateLarge(stages)
  while (yaml.length < 20_000) yaml = generateLarge(++stages)
  expect(yaml.length).toBeGreaterThanOrEqual(20_000)
  const previews: { method: string; urlLength: number }[] = []
  page.on('request', (r) => {
    if (r.url().includes('plan.preview')) previews.push({ method: r.method(), urlLength: r.url().length })
  })
  await page.goto('/compose?example=fasthep-flow')
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  await page.getByTestId('plan-tab-submission').click()
  // our own fasthep-flow example (over 2 KB: it used to fail) previews
  await expect(page.getByTestId('submission-preview')).toBeVisible({ timeout: 30_000 })
  await expect(page.locator('[data-testid^="submission-"] pre').first()).toBeVisible()

  await page.evaluate((y) => window.__composer!.setValue(y), yaml)
  await expect(page.getByTestId('plan-facts')).toContainText(`${stages} stages`, { timeout: 30_000 })
  const def = page.getByTestId('submission-default')
  await expect(def.locator('pre')).toContainText('#SBATCH --partition=standard', { timeout: 30_000 })
  await expect(page.getByTestId('submission-high_memory').locator('pre')).toContainText('#SBATCH --partition=bigmem')
  await expect(page.getByTestId('submission-preview')).toHaveAttribute('data-stale', 'false')
  expect(previews.length).toBeGreaterThan(0)
  expect(previews.every((p) => p.method === 'POST' && p.urlLength < 2000)).toBe(true)
})
