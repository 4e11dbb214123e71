/**
 * The HEP example end to end in Chromium against the production build: the bundled
 * examples/hep-zmumu.yaml (generates its own events) is saved, started with the Run button, and the
 * run page shows per-dataset progress, the dimuon-mass and muon-pT plots (SVG served by the
 * artifact route), the cutflow table, and which modifiers ran on each task with their profile.
 * (The browser state is authenticated by the auth-setup project: see playwright.config.ts.)
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'
import { saveWorkflow, startFromUi } from './runs'

const STAMP = Date.now().toString(36)

test('the HEP example runs from the UI and shows its plots', async ({ page, request }) => {
  test.setTimeout(180_000)
  const yaml = fs
    .readFileSync(path.join('examples', 'hep-zmumu.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: e2e-hep-${STAMP}`)
  const { workflowId } = await saveWorkflow(request, yaml, 'e2e hep')
  const runId = await startFromUi(page, workflowId)

  // per stage and dataset: 4 partitions of 5,000 events, all done
  const hist = page.getByTestId('hep-progress-Histograms-zmumu')
  await expect(hist).toHaveAttribute('data-done', '4', { timeout: 150_000 })
  await expect(hist).toHaveAttribute('data-total', '4')
  await expect(hist).toContainText('20,000')

  // the plots, loaded through the artifact route
  for (const name of ['dimuon_mass', 'muon_pt']) {
    const img = page.getByTestId(`hep-plot-${name}`).locator('img')
    await expect(img).toBeVisible({ timeout: 30_000 })
    await expect
      .poll(async () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 15_000 })
      .toBeGreaterThan(0)
    const src = await img.getAttribute('src')
    expect(src).toContain(`/runs/${runId}/artifacts/`)
    const svg = await page.request.get(src!)
    expect(svg.headers()['content-type']).toContain('image/svg+xml')
    expect(await svg.text()).toMatch(/^<svg/)
  }
  // the cutflow table of the selection
  const cutflow = page.getByTestId('hep-cutflow-SelectZ')
  await expect(cutflow).toBeVisible()
  await expect(cutflow).toContainText('20000')

  // modifiers and profile per task
  await page.getByTestId('filter-stage').selectOption('Histograms')
  const mods = page.locator('[data-testid^="task-modifiers-"]').first()
  await expect(mods).toContainText('profile')
  await expect(mods).toContainText('diagnostics')
  await expect(page.locator('[data-testid^="task-profile-"]').first()).toContainText('peak')

  fs.mkdirSync(path.join('test-results', 'screenshots'), { recursive: true })
  await page.getByTestId('hep-panel').screenshot({ path: path.join('test-results', 'screenshots', 'hep-plots.png') })
})
