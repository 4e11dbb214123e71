/**
 * Operations, as a user sees them: every log line with the time it was written (run-wide view, task
 * log toggle, downloads with an ISO column), the timeline by keyboard, and Monaco following the
 * app's light/dark theme live with readable colours. Screenshots go to test-results/screenshots/.
 */
import fs from 'node:fs'
import path from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import { expect, type Page, test } from '@playwright/test'
import { saveWorkflow, startFromUi } from './runs'

const SHOTS = path.join('test-results', 'screenshots')
const STAMP = Date.now().toString(36)
const shot = async (page: Page, name: string) => {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `ops-${name}.png`), fullPage: true })
}
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t/

const TIMED = `version: 1
name: e2e-times-${STAMP}
analysis:
  stages:
    - id: Talk
      op: shell
      params: { command: "echo first line; sleep 1.2; echo second line >&2; sleep 1.2; echo third line" }
    - id: Other
      op: shell
      needs: [Talk]
      params: { command: "echo other one; echo other two" }
`

/** "14:03:07.215" → ms since midnight */
const clock = (s: string) => {
  const m = /(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(s)!
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4])
}

test('every log line has the time it was written: run-wide view, task log toggle, downloads', async ({ page }) => {
  test.setTimeout(90_000)
  const { workflowId } = await saveWorkflow(page.request, TIMED)
  const runId = await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 40_000 })

  // the timeline labels a bar wide enough with its stage, inside the bar
  const label = page.getByTestId('gantt').locator('text.gantt-bar-label', { hasText: 'Talk' })
  await expect(label).toHaveCount(1)
  const bar = page.getByTestId('gantt').locator(`rect[data-task="${await label.getAttribute('data-label-for')}"]`)
  const [lb, bb] = [(await label.boundingBox())!, (await bar.boundingBox())!]
  expect(lb.x).toBeGreaterThanOrEqual(bb.x)
  expect(lb.x + lb.width).toBeLessThanOrEqual(bb.x + bb.width)

  // the run-wide view: stdout and stderr interleaved in the order written, each with its own time
  await page.getByTestId('run-log-toggle').click()
  const rows = page.getByTestId('run-log-lines').locator('.rlog-line')
  await expect(rows).toHaveCount(5)
  const texts = await rows.locator('.rlog-text').allTextContents()
  expect(texts).toEqual(['first line', 'second line', 'third line', 'other one', 'other two'])
  const times = (await rows.locator('.rlog-at').allTextContents()).map(clock)
  expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1000)
  expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1000)
  // the regular-expression search still filters the timed lines
  await page.getByTestId('run-log-search').fill('^(first|third)')
  await expect(rows).toHaveCount(2)
  await expect(rows.nth(1).locator('.rlog-at')).toHaveText(/\d\d:\d\d:\d\d\.\d{3}/)
  await shot(page, 'run-log-times')

  // the run-wide download: one file, an ISO time column on every line of output
  const href = await page.getByTestId('run-log-download').getAttribute('href')
  const file = await (await page.request.get(href!)).text()
  const lines = file.split('\n').filter((l) => ISO.test(l))
  expect(lines.map((l) => l.split('\t')[1])).toEqual(
    expect.arrayContaining(['first line', 'second line', 'third line', 'other one', 'other two']),
  )
  const iso = (text: string) => Date.parse(lines.find((l) => l.endsWith(`\t${text}`))!.split('\t')[0]!)
  expect(iso('third line') - iso('first line')).toBeGreaterThanOrEqual(2000)

  // the task log: times appear with the toggle, and its download then has the ISO column
  await page
    .getByTestId('filter-stage')
    .selectOption('Talk')
    .catch(() => {})
  await page.locator('[data-testid^="task-row-"][data-stage="Talk"]').first().click()
  const text = page.getByTestId('task-log-text')
  await expect(text).toContainText('first line')
  await expect(text).not.toContainText(/\d\d:\d\d:\d\d\.\d{3}/)
  await page.getByTestId('task-log-times').check()
  await expect(text).toContainText(/\d\d:\d\d:\d\d\.\d{3} {2}first line\n\d\d:\d\d:\d\d\.\d{3} {2}third line/)
  const taskHref = await page.getByTestId('task-log-download').getAttribute('href')
  expect(taskHref).toContain('times=1')
  const taskFile = await (await page.request.get(taskHref!)).text()
  expect(
    taskFile
      .split('\n')
      .filter(Boolean)
      .every((l) => ISO.test(l)),
  ).toBe(true)
  expect(taskFile).toMatch(/\tfirst line\n.*\tthird line\n$/)
  await shot(page, 'task-log-times')
  void runId
})

test('the timeline by keyboard: one tab stop, arrows move between bars, Enter opens the task', async ({ page }) => {
  test.setTimeout(90_000)
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1
name: e2e-keys-${STAMP}
analysis:
  stages:
    - id: One
      op: shell
      params: { command: "echo one" }
    - id: Two
      op: shell
      needs: [One]
      params: { command: "echo two" }
    - id: Three
      op: shell
      needs: [Two]
      params: { command: "echo three" }
`,
  )
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 40_000 })
  const gantt = page.getByTestId('gantt')
  await expect(gantt.locator('rect[data-task]')).toHaveCount(3)
  await expect(gantt.locator('rect[data-task][tabindex="0"]')).toHaveCount(1)

  // Tab from the zoom buttons reaches the bars (one tab stop for all of them)
  await page.getByTestId('gantt-zoom-out').focus() // 'fit' is disabled while the whole run shows
  await page.keyboard.press('Tab')
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-task') ?? null)
  const first = await focused()
  expect(first).not.toBeNull()
  // the focus ring is visible: drawn in the theme's focus colour
  const stroke = await page.evaluate(() => getComputedStyle(document.activeElement!).stroke)
  expect(stroke).not.toBe('none')
  await shot(page, 'timeline-focus')

  // the three tasks ran one after another: → visits them in time order, ← comes back, End / Home jump
  const visited = [first]
  for (let i = 0; i < 2; i++) {
    await page.keyboard.press('ArrowRight')
    visited.push(await focused())
  }
  expect(new Set(visited).size).toBe(3)
  await page.keyboard.press('ArrowLeft')
  expect(await focused()).toBe(visited[1])
  await page.keyboard.press('Home')
  expect(await focused()).toBe(visited[0])
  await page.keyboard.press('End')
  expect(await focused()).toBe(visited[2])

  // Enter opens the focused bar's task, as a click does
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('task-log')).toHaveAttribute('data-task-id', visited[2]!)
  await expect(page.getByTestId('task-log-text')).toContainText('three')
  // and the tab stop stays on it when coming back
  await expect(gantt.locator(`rect[data-task="${visited[2]}"]`)).toHaveAttribute('tabindex', '0')
})

test('the run DAG by keyboard: one tab stop, arrows move between stages with a visible outline, Enter selects', async ({
  page,
}) => {
  test.setTimeout(90_000)
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1
name: e2e-run-dag-keys-${STAMP}
analysis:
  stages:
    - { id: Load, op: noop }
    - { id: Clean, op: noop, needs: [Load] }
    - { id: Plot, op: noop, needs: [Clean] }
`,
  )
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'succeeded', { timeout: 40_000 })
  const graph = page.getByTestId('run-graph')
  await expect(graph.getByTestId('stage-node-Plot')).toBeVisible()
  await graph.focus()
  await expect(graph).toBeFocused()
  await expect(graph).toHaveAttribute('data-active', 'Load')
  // the active node is announced and outlined
  const described = await graph.getAttribute('aria-activedescendant')
  expect(described).toBeTruthy()
  await expect(page.locator(`[id="${described}"]`)).toContainText('Load')
  const outline = () =>
    page.evaluate(
      () => getComputedStyle(document.querySelector('.react-flow__node.is-kbd-active .stage-node')!).outlineStyle,
    )
  expect(await outline()).toBe('solid')
  await page.keyboard.press('ArrowRight')
  await expect(graph).toHaveAttribute('data-active', 'Clean')
  await page.keyboard.press('End')
  await expect(graph).toHaveAttribute('data-active', 'Plot')
  await page.keyboard.press('ArrowLeft')
  await expect(graph).toHaveAttribute('data-active', 'Clean')
  await shot(page, 'run-dag-keyboard')
  // Enter does what a click does: the task table shows that stage's tasks only
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('filter-stage')).toHaveValue('Clean')
  await expect(page.locator('[data-testid^="task-row-"]')).toHaveCount(1)
  await expect(page.locator('[data-testid^="task-row-"]').first()).toHaveAttribute('data-stage', 'Clean')
  // the keys did not scroll the page or leave the graph
  await expect(graph).toBeFocused()
})

test('Monaco follows the light and dark theme live, in the composer and the workflow diff, readably', async ({
  page,
}) => {
  test.setTimeout(90_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const bg = (scope: string) =>
    page.evaluate(
      (sel) =>
        getComputedStyle(document.querySelector(`${sel} .monaco-editor .monaco-editor-background`)!).backgroundColor,
      scope,
    )
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.goto('/compose')
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  expect(await bg('[data-testid="composer-editor"]')).toBe('rgb(20, 23, 29)')

  // the toggle switches the editor at once, without a reload
  await page.getByTestId('theme-toggle').click()
  await expect.poll(() => bg('[data-testid="composer-editor"]')).toBe('rgb(255, 255, 255)')
  await shot(page, 'composer-light')
  const contrast = async () =>
    (
      await new AxeBuilder({ page }).include('.monaco-editor').withRules(['color-contrast']).analyze()
    ).violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`))
  expect(await contrast()).toEqual([])
  await page.getByTestId('theme-toggle').click()
  await expect.poll(() => bg('[data-testid="composer-editor"]')).toBe('rgb(20, 23, 29)')
  expect(await contrast()).toEqual([])

  // a workflow's version diff starts in the chosen theme, and follows the system's when none is chosen
  const yaml = (n: number) => `version: 1
name: e2e-diff-theme-${STAMP}
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo ${n}" }
`
  const { workflowId, versionId } = await saveWorkflow(page.request, yaml(1))
  const second = await page.request.post('/api/trpc/workflow.saveVersion', {
    data: { json: { yaml: yaml(2), message: 'second', workflowId, parentVersionId: versionId } },
    headers: { 'content-type': 'application/json' },
  })
  expect(second.ok(), await second.text()).toBe(true)
  await page.evaluate(() => localStorage.removeItem('controlroom.theme'))
  await page.emulateMedia({ colorScheme: 'light' })
  await page.goto(`/workflows/${workflowId}`)
  const diff = page.locator('.monaco-diff-editor')
  await expect(diff.first()).toBeVisible({ timeout: 15_000 })
  expect(await bg('.monaco-diff-editor')).toBe('rgb(255, 255, 255)')
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect.poll(() => bg('.monaco-diff-editor')).toBe('rgb(20, 23, 29)')
  await shot(page, 'diff-dark')
  // switching themes and leaving the page disposes the diff cleanly (no uncaught Monaco error)
  await page.goto('/runs')
  await expect(page.getByTestId('runs-list')).toBeVisible()
  expect(errors).toEqual([])
})

test('a new user at 900 px: the timeline span matches the header, the failure alert says the exit code once, the runs list fits', async ({
  page,
}) => {
  test.setTimeout(90_000)
  await page.setViewportSize({ width: 900, height: 1000 })
  const { workflowId } = await saveWorkflow(
    page.request,
    `version: 1
name: e2e-narrow-${STAMP}
analysis:
  stages:
    - id: Select
      op: shell
      params: { command: "echo 'cut failed: no branch jet_pt' >&2; exit 3" }
`,
  )
  await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'failed', { timeout: 40_000 })
  // a run shorter than a second: the timeline's span says what the header's duration says
  const header = (await page.getByTestId('run-duration').textContent()) ?? ''
  expect(header).toMatch(/^\d+ ms$/)
  await expect(page.getByTestId('gantt-span')).toHaveText(/^\d+ ms$/)
  const span = Number((await page.getByTestId('gantt-span').textContent())!.replace(' ms', ''))
  expect(Math.abs(span - Number(header.replace(' ms', '')))).toBeLessThanOrEqual(100)
  // and so does its axis: the run is drawn over its own span, not squeezed into the start of a second
  const svg = page.locator('[data-testid="gantt"] svg')
  const axis = Number(await svg.getAttribute('data-to')) - Number(await svg.getAttribute('data-from'))
  expect(Math.abs(axis - Number(header.replace(' ms', '')))).toBeLessThanOrEqual(100)
  await expect(page.locator('[data-testid="gantt"] .gantt-axis text').last()).toHaveText(/^(\d+ms|0\.\d+s)$/)
  const alert = page.getByTestId('failure-alert')
  await expect(alert).toContainText('cut failed: no branch jet_pt')
  const head = (await alert.locator('.fa-head').textContent()) ?? ''
  expect(head.match(/exit code 3/g)).toHaveLength(1)

  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme })
    await page.goto('/runs')
    await expect(page.getByTestId('runs-list').locator('tbody tr').first()).toBeVisible()
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    expect(overflow, `the runs list scrolls sideways by ${overflow} px at 900 px (${theme})`).toBeLessThanOrEqual(0)
    await shot(page, `runs-900-${theme}`)
  }
})
