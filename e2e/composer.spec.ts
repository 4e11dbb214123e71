/**
 * The composer (/compose) in Debian's Chromium against the production build: typing re-plans the
 * workflow and recolours the DAG, problems land at their lines, node ↔ editor navigation, the last
 * good graph survives a syntax error, the draft survives a reload, and nothing leaves localhost.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { must } from '../server/must'

const SHOTS = path.join('test-results', 'screenshots')
/** longer than the composer's re-plan debounce plus a small compile */
const REPLAN_WAIT_MS = 400

// Every request the browser makes, per test: none may leave this machine.
let requests: string[] = []
// (authentication: the "auth-setup" project of playwright.config.ts gives every test the access cookie)
test.beforeEach(async ({ page }) => {
  requests = []
  page.on('request', (r) => requests.push(r.url()))
})
test.afterEach(async () => {
  const outside = requests.filter((u) => {
    if (/^(data|blob|about|chrome-extension):/.test(u)) return false
    const host = new URL(u).hostname
    return !(host === '127.0.0.1' || host === 'localhost' || host === '[::1]')
  })
  expect(outside, 'requests that left localhost').toEqual([])
})

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `composer-${name}.png`) })
}

async function openComposer(page: Page, example: string) {
  await page.goto(`/compose?example=${example}`)
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
}

/** 1-based line number of the first source line matching `re`; fails the test when none does. */
async function lineMatching(page: Page, re: RegExp): Promise<number> {
  const text = await page.evaluate(() => window.__composer!.getValue())
  const index = text.split('\n').findIndex((l) => re.test(l))
  if (index < 0) throw new Error(`no line of the composer's text matches ${re}`)
  return index + 1
}

/** Puts the cursor at a position (through the editor, like a click) so real typing follows. */
async function cursorAt(page: Page, line: number, col: number) {
  await page.getByTestId('composer-editor').locator('.monaco-editor .view-lines').click()
  await page.evaluate(([l, c]) => window.__composer!.setCursor(l, c), [line, col] as const)
}

/** Opens an empty line above `line` and types `text` into it, key by key. */
async function typeNewLineAbove(page: Page, line: number, text: string) {
  await cursorAt(page, line, 1)
  await page.keyboard.press('Enter')
  await page.keyboard.press('ArrowUp')
  await page.keyboard.type(text, { delay: 8 })
  await page.keyboard.press('Escape') // close any suggestion widget
}

function hexToRgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16)
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`
}

test('typing a stage that requires gpu adds a node in the gpu pool colour', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  await expect(page.getByTestId('dag-node-TrainModel')).toHaveAttribute('data-pool', 'gpu')
  await expect(page.getByTestId('pool-legend')).toContainText('gpu')
  await shot(page, 'heterogeneous')

  // after the last stage: the line after its range
  type Range = {
    start: { line: number; col: number; offset: number }
    end: { line: number; col: number; offset: number }
  }
  const ranges: Record<string, Range> = await page.evaluate(() => window.__composer!.result().stageRanges)
  const last = must(Object.values(ranges).sort((a, b) => b.end.offset - a.end.offset)[0], 'a stage range')
  const after = last.end.col === 1 ? last.end.line : last.end.line + 1
  await typeNewLineAbove(
    page,
    after,
    '    - { id: GpuSkim, op: noop, needs: [TrainModel], execution: { require: gpu } }',
  )

  const node = page.getByTestId('dag-node-GpuSkim')
  await expect(node).toBeVisible()
  await expect(page.getByTestId('pipeline-graph')).toHaveAttribute('data-layout', 'ready')
  await expect(node).toHaveAttribute('data-pool', 'gpu')
  const gpuColour = await page.getByTestId('legend-pool-gpu').getAttribute('data-color')
  expect(gpuColour).toBeTruthy()
  await expect(node).toHaveAttribute('data-color', gpuColour!)
  await expect(node).toHaveCSS('border-top-color', hexToRgb(gpuColour!))
  // a different pool has a different colour
  expect(await page.getByTestId('legend-pool-default').getAttribute('data-color')).not.toBe(gpuColour)
  // the legend counts the new stage
  await expect(page.getByTestId('legend-pool-gpu')).toContainText('2 stages')
  // the routing table shows it
  await expect(page.getByTestId('routing-GpuSkim')).toContainText('gpu')
  await shot(page, 'gpu-stage-added')
})

test('renaming a pool marks the now-unknown requirement at its line', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  const poolLine = await lineMatching(page, /^ {4}gpu:\s*$/)
  const requireLine = await lineMatching(page, /^\s+require:\s*gpu\s*$/)

  await cursorAt(page, poolLine, 8) // just after "    gpu"
  await page.keyboard.type('_nodes', { delay: 20 })
  await page.keyboard.press('Escape')

  // the problem list, the editor's marker and the node all point at the requirement
  await page.getByTestId('plan-tab-problems').click()
  const problem = page.getByTestId('problems-list').locator(`[data-code="unknown-pool"]`)
  await expect(problem).toHaveCount(1)
  await expect(problem).toHaveAttribute('data-line', String(requireLine))
  await expect(problem).toHaveAttribute('data-severity', 'error')
  await expect
    .poll(() =>
      page.evaluate(() =>
        window
          .__composer!.markers()
          .filter((m) => m.code === 'unknown-pool')
          .map((m) => [m.line, m.severity]),
      ),
    )
    .toEqual([[requireLine, 'error']])
  await expect(page.getByTestId('dag-node-TrainModel')).toHaveAttribute('data-marker', 'error')
  await expect(page.getByTestId('composer-status')).toContainText('error')

  // clicking the problem puts the cursor on its line, where the editor draws the red squiggle
  await problem.click()
  await expect(page.getByTestId('composer-editor')).toHaveAttribute('data-cursor-line', String(requireLine))
  await expect(page.getByTestId('composer-editor').locator('.squiggly-error').first()).toBeAttached()
  await shot(page, 'unknown-pool')
})

test('clicking a node lands on its line; moving the cursor highlights the node', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  const plotsLine = await lineMatching(page, /-\s+id:\s*ProducePlots\b/)
  await page.getByTestId('dag-node-ProducePlots').click()
  await expect(page.getByTestId('composer-editor')).toHaveAttribute('data-cursor-line', String(plotsLine))
  await expect(page.getByTestId('cursor-status')).toContainText(`Ln ${plotsLine},`)
  await expect(page.getByTestId('cursor-status')).toContainText('stage ProducePlots')
  await expect(page.getByTestId('dag-node-ProducePlots')).toHaveClass(/is-selected/)

  const indexLine = await lineMatching(page, /-\s+id:\s*BuildIndex\b/)
  await cursorAt(page, indexLine + 1, 8)
  await expect(page.getByTestId('dag-node-BuildIndex')).toHaveClass(/is-selected/)
  await expect(page.getByTestId('dag-node-ProducePlots')).not.toHaveClass(/is-selected/)
  await shot(page, 'node-selected')
})

test('a YAML syntax error keeps the last good graph with a banner', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  await expect(page.getByTestId('dag-node-BuildIndex')).toBeVisible()
  const analysisLine = await lineMatching(page, /^analysis:/)
  await typeNewLineAbove(page, analysisLine, 'oops: @broken')
  await expect(page.getByTestId('syntax-banner')).toBeVisible()
  await expect(page.getByTestId('pipeline-graph')).toHaveClass(/is-stale/)
  for (const id of ['BuildIndex', 'TrainModel', 'ProducePlots'])
    await expect(page.getByTestId(`dag-node-${id}`)).toBeVisible()
  await shot(page, 'syntax-error')
  // undo → the banner goes
  await page.keyboard.press('Control+z')
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('syntax-banner')).toHaveCount(0)
})

test('plan panel: backend/strategy, pools, routing, plan JSON; the draft survives a reload', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  await expect(page.getByTestId('plan-backend')).toHaveText('local')
  await expect(page.getByTestId('plan-strategy')).toHaveText('local')
  await expect(page.getByTestId('routing-BuildIndex')).toContainText('high_memory')
  await page.getByTestId('plan-tab-pools').click()
  await expect(page.getByTestId('pool-row-gpu')).toContainText('16')
  await page.getByTestId('plan-tab-json').click()
  const json = JSON.parse((await page.getByTestId('plan-json').textContent()) ?? '')
  expect(json.backend).toBe('local')
  expect(json.stages.find((s: { id: string }) => s.id === 'TrainModel').pool).toBe('gpu')
  await page.getByTestId('copy-plan-json').click()
  await expect(page.getByTestId('copy-plan-json')).toHaveText(/Copied|Copy failed/)
  await shot(page, 'plan-json')

  // a real edit, then reload: the draft comes back
  const nameLine = await lineMatching(page, /^name:/)
  await cursorAt(page, nameLine, 200)
  await page.keyboard.type('-draft', { delay: 20 })
  await expect
    .poll(() => page.evaluate(() => localStorage.getItem('controlroom.composer.draft.v1') ?? ''))
    .toContain('heterogeneous-pools-draft')
  await page.reload()
  await page.waitForFunction(() => Boolean(window.__composer))
  expect(await page.evaluate(() => window.__composer!.getValue())).toContain('name: heterogeneous-pools-draft')
})

test('default example, "New from example" menu and the 500-stage workflow stay responsive', async ({ page }) => {
  await page.goto('/compose')
  await page.evaluate(() => localStorage.clear())
  await page.reload()
  await page.waitForFunction(() => Boolean(window.__composer))
  await expect(page.getByTestId('draft-note')).toContainText('local-quickstart')
  await expect(page.locator('[data-testid^="dag-node-"]').first()).toBeVisible()

  await page.getByTestId('example-menu').selectOption('large-500')
  await expect(page.getByTestId('draft-note')).toContainText('large-500')
  await expect(page.getByTestId('plan-facts')).toContainText('500 stages')
  await expect(page.getByTestId('pipeline-graph')).toHaveAttribute('data-layout', 'ready', { timeout: 30_000 })
  await expect(page.locator('[data-testid^="dag-node-"]').first()).toBeVisible()
  // only the nodes in view are in the DOM
  expect(await page.locator('[data-testid^="dag-node-"]').count()).toBeLessThan(500)
  await page.waitForTimeout(300)
  await shot(page, 'large-500')

  // typing into the 500-stage workflow: measure long tasks on the main thread while re-planning
  await page.evaluate(() => {
    const w = window as unknown as { __long: number[] }
    w.__long = []
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__long.push(e.duration)
    }).observe({ type: 'longtask', buffered: false })
  })
  const nameLine = await lineMatching(page, /^name:/)
  await cursorAt(page, nameLine, 200)
  await page.keyboard.type('-edited-by-e2e', { delay: 40 })
  await expect(page.getByTestId('plan-facts')).toContainText('500 stages')
  await page.waitForTimeout(800)
  const long = await page.evaluate(() => (window as unknown as { __long: number[] }).__long)
  const replanMs = Number(
    ((await page.getByTestId('plan-facts').textContent()) ?? '').match(/compiled in ([\d.]+) ms/)?.[1],
  )
  test.info().annotations.push({
    type: 'perf',
    description: `500 stages: re-plan ${replanMs} ms; long tasks while typing: ${JSON.stringify(long.map(Math.round))}`,
  })
  console.log(
    `[composer perf] 500 stages: re-plan ${replanMs} ms; long tasks while typing: ${JSON.stringify(long.map(Math.round))}`,
  )
  // Zooming out renders the cheap far view; panning keeps working.
  const pane = page.getByTestId('pipeline-graph').locator('.react-flow__pane')
  await pane.hover()
  await page.mouse.wheel(0, 400)
  await page.mouse.wheel(0, -200)
  await shot(page, 'large-500-zoomed')
})

test("completion offers the plan's pools, stage ids and modifiers; hover explains keys", async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  const suggest = page.locator('.monaco-editor .suggest-widget')

  // hover (from the compiler's JSON Schema, through monaco-yaml's worker)
  const reqLine = await lineMatching(page, /^\s+require:\s*high_memory\s*$/)
  await cursorAt(page, reqLine, 12)
  await page.keyboard.press('Control+k')
  await page.keyboard.press('Control+i')
  await expect(page.locator('.monaco-editor .monaco-hover:not(.hidden)').first()).toContainText(
    'Label the stage requires',
    { timeout: 20_000 },
  )
  await page.keyboard.press('Escape')

  // pools after `require:`
  const requireLine = await lineMatching(page, /^\s+require:\s*gpu\s*$/)
  await cursorAt(page, requireLine, 18) // after "        require: "
  await page.keyboard.press('Control+Space')
  await expect(suggest).toBeVisible()
  await expect(suggest).toContainText('high_memory')
  await expect(suggest).toContainText('default')
  await page.keyboard.press('Escape')

  // stage ids in `needs: [`
  const plotsOp = await lineMatching(page, /^\s+op:\s*custom\.produce_plots\s*$/)
  await typeNewLineAbove(page, plotsOp + 1, '      needs: [Bu')
  await page.keyboard.press('Control+Space')
  await expect(suggest).toContainText('BuildIndex')
  await page.keyboard.press('Enter')
  await expect.poll(() => page.evaluate(() => window.__composer!.getValue())).toContain('needs: [BuildIndex]')
  await expect(page.getByTestId('routing-ProducePlots')).toBeVisible()

  // modifiers in a block list
  const modLine = await lineMatching(page, /^\s+- cuda\.jit\s*$/)
  await cursorAt(page, modLine, 200)
  await page.keyboard.press('Enter')
  await page.keyboard.type('- ', { delay: 20 })
  await page.keyboard.press('Control+Space')
  await expect(suggest).toContainText('profile')
  await shot(page, 'completion')
  await page.keyboard.press('Escape')
})

test('Enter at the end of a stage’s last line: the status bar still names that stage', async ({ page }) => {
  await openComposer(page, 'local-quickstart')
  const line = await lineMatching(page, /^\s+command: echo "counting events"; sleep 1$/)
  await cursorAt(page, line, 200)
  await expect(page.getByTestId('cursor-status')).toContainText('stage CountEvents')
  await page.keyboard.press('Enter')
  // at once (the stage ranges still describe the text before the Enter) …
  expect(await page.getByTestId('cursor-status').textContent()).toContain('stage CountEvents')
  // … and once the edit is re-planned with the new ranges
  await page.waitForTimeout(REPLAN_WAIT_MS)
  await expect(page.getByTestId('composer')).toHaveAttribute('data-planning', 'false')
  await expect(page.getByTestId('cursor-status')).toHaveText(`Ln ${line + 1}, Col 9 · stage CountEvents`)
  await expect(page.getByTestId('dag-node-CountEvents')).toHaveClass(/is-selected/)
  // outdented to the list's level, the line belongs to no stage
  await page.keyboard.press('Shift+Tab')
  await page.keyboard.press('Shift+Tab')
  await expect(page.getByTestId('cursor-status')).toHaveText(`Ln ${line + 1}, Col 5`)
})

test('completion lists each name once and no schema skeleton entry', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  const suggest = page.locator('.monaco-editor .suggest-widget')
  const labels = () => suggest.locator('.monaco-list-row .label-name').allTextContents()

  // ops after `op:` (built-ins come from our provider and from the schema: once each)
  const opLine = await lineMatching(page, /^\s+op:\s*\S+\s*$/)
  const opText = must(
    (await page.evaluate(() => window.__composer!.getValue())).split('\n')[opLine - 1],
    `line ${opLine} of the composer's text`,
  )
  await cursorAt(page, opLine, opText.indexOf(':') + 3)
  await page.keyboard.press('Shift+End')
  await page.keyboard.press('Delete')
  await page.keyboard.press('Control+Space')
  await expect(suggest).toBeVisible()
  await expect(suggest).toContainText('hep.select')
  const ops = await labels()
  expect(ops.length).toBeGreaterThan(3)
  expect(ops.filter((l, i) => ops.indexOf(l) !== i)).toEqual([])
  await page.keyboard.press('Escape')

  // a new top-level key: keys of the workflow, no "object(FAST-HEP workflow…)" skeleton
  const lines = (await page.evaluate(() => window.__composer!.getValue())).split('\n').length
  await cursorAt(page, lines, 1)
  await page.keyboard.press('Control+End')
  await page.keyboard.press('Enter')
  await page.keyboard.press('Control+Space')
  await expect(suggest).toBeVisible()
  const keys = await labels()
  expect(keys.filter((l) => /^object\(|FAST-HEP workflow/.test(l))).toEqual([])
  expect(keys.filter((l, i) => keys.indexOf(l) !== i)).toEqual([])
  await shot(page, 'completion-keys')
  await page.keyboard.press('Escape')
})
