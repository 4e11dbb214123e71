/**
 * HEP runs end to end in Chromium against the production build.
 *  1. The bundled examples/hep-zmumu.yaml (generates its own events) is saved, started with the Run
 *     button, and the run page shows per-dataset progress, the dimuon-mass and muon-pT plots, the
 *     cutflow table, and which modifiers ran on each task with their profile.
 *  2. Physics while it runs: a hep.hist stage over the real Zmumu ROOT file in 32 partitions; the
 *     page shows partial results (some of the 32 partitions merged, saying so), then the final
 *     histogram (32 of 32), and the plot downloads as SVG, PNG and UHI JSON.
 * (The browser state is authenticated by the auth-setup project: see playwright.config.ts.)
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'
import { saveWorkflow, startFromUi } from './runs'

const STAMP = Date.now().toString(36)
const SHOTS = path.join('test-results', 'screenshots')

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

  // the final plots, loaded through the live route
  const results = page.getByTestId('hep-results-Histograms-zmumu')
  await expect(results).toHaveAttribute('data-final', 'true', { timeout: 30_000 })
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

  fs.mkdirSync(SHOTS, { recursive: true })
  await page.getByTestId('hep-panel').screenshot({ path: path.join(SHOTS, 'hep-plots.png') })
})

test('histograms grow while partitions finish, then the final one downloads as SVG, PNG and JSON', async ({
  page,
  request,
}) => {
  test.setTimeout(240_000)
  const file = path.resolve('server', 'hep', '__fixtures__', 'root', 'uproot-Zmumu.root')
  // 2304 events in chunks of 72: 32 partitions, 2 at a time. One process per partition
  // (hep_runtime: process) keeps the stage running for seconds, long enough to watch partial results
  // at the panel's pace (one read a second); in the warm executors the whole stage takes about one.
  const yaml = `version: 1
name: e2e-hep-live-${STAMP}
execution:
  config: { workers: 2, chunk_size: 72, hep_runtime: process }
data:
  datasets:
    - { name: zmumu, files: ['${file}'], treeName: events }
analysis:
  stages:
    - id: select
      op: hep.select
      params: { selection: { all: ['Q1 * Q2 < 0'] } }
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: M, variable: M, bins: { n: 60, low: 60, high: 120 } }
`
  const { workflowId } = await saveWorkflow(request, yaml, 'e2e hep live')
  const runId = await startFromUi(page, workflowId)

  const results = page.getByTestId('hep-results-hist-zmumu')
  // partial: some partitions merged, not all, and the page says so
  await expect
    .poll(
      async () => {
        const n = Number((await results.getAttribute('data-included', { timeout: 1000 }).catch(() => null)) ?? 0)
        return n > 0 && n < 32 && (await results.getAttribute('data-final')) === 'false'
      },
      { timeout: 120_000, intervals: [200] },
    )
    .toBe(true)
  const partialStatus = await page.getByTestId('hep-status-hist-zmumu').textContent()
  expect(partialStatus).toMatch(/partial: \d+ of 32 partitions/)
  const partialPlot = page.getByTestId('hep-plot-M')
  await expect(partialPlot.locator('figcaption')).toContainText('of 32 partitions')
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.getByTestId('hep-panel').screenshot({ path: path.join(SHOTS, 'hep-partial.png') })

  // final: all 32 partitions, 2304 events read
  await expect(results).toHaveAttribute('data-final', 'true', { timeout: 180_000 })
  await expect(results).toHaveAttribute('data-included', '32')
  await expect(page.getByTestId('hep-status-hist-zmumu')).toContainText('final, 2,304 events')
  const img = partialPlot.locator('img')
  await expect
    .poll(async () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 15_000 })
    .toBeGreaterThan(0)
  await page.getByTestId('hep-panel').screenshot({ path: path.join(SHOTS, 'hep-final.png') })

  // downloads of the final histogram
  const download = async (label: string) => {
    const [d] = await Promise.all([
      page.waitForEvent('download'),
      partialPlot.getByRole('link', { name: label, exact: true }).click(),
    ])
    return { name: d.suggestedFilename(), bytes: fs.readFileSync((await d.path())!) }
  }
  const svg = await download('SVG')
  // how to load the JSON is said on the page, not only in the README
  await expect(page.getByTestId('hep-howto')).toContainText(
    'hist.Hist(json.load(open(path), object_hook=uhi.io.json.object_hook))',
  )
  expect(svg.name).toBe('hist-zmumu-M.svg')
  expect(svg.bytes.toString('utf8')).toMatch(/^<svg[^>]*>/)
  const png = await download('PNG')
  expect(png.name).toBe('hist-zmumu-M.png')
  expect(png.bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
  const json = await download('JSON')
  expect(json.name).toBe('hist-zmumu-M.uhi.json')
  const uhi = JSON.parse(json.bytes.toString('utf8'))
  expect(uhi.uhi_schema).toBe(1)
  expect(uhi.axes[0]).toMatchObject({ type: 'regular', lower: 60, upper: 120, bins: 60 })
  expect(uhi.storage.values).toHaveLength(62)
  expect(uhi.metadata).toMatchObject({ name: 'M', partitions_included: 32, partitions: 32 })
  // every selected (opposite-charge) event fills M once: the cutflow and the histogram agree
  const cutflow = page.getByTestId('hep-cutflow-select')
  await expect(cutflow).toContainText('2304')
  const filled = uhi.storage.values.reduce((a: number, b: number) => a + b, 0)
  expect(filled).toBe(uhi.metadata.entries)
  expect(runId).toBeTruthy()
})
