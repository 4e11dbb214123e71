/**
 * Accessibility of every page, in both themes: axe-core (WCAG 2 A and AA rules, colour contrast
 * included) must report nothing. Pages with data (a workflow, a failed run with its Fix and resume
 * section, a succeeded run) are made through the API and the Run button first. A screenshot of each
 * page in each theme goes to test-results/screenshots/a11y-<page>-<theme>.png.
 */
import fs from 'node:fs'
import path from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { saveWorkflow, startFromUi } from './runs'

const SHOTS = path.join('test-results', 'screenshots')
const STAMP = Date.now().toString(36)

const yaml = (command: string) => `version: 1
name: e2e-a11y-${STAMP}
analysis:
  stages:
    - id: Prepare
      op: shell
      params: { command: "echo ready" }
    - id: Analyse
      op: shell
      params: { command: "${command}" }
`

/** every violation of every page and theme, reported together (one run shows all there is to fix) */
const violations: string[] = []

async function check(page: Page, name: string, url: string, ready: (p: Page) => Promise<void>) {
  for (const theme of ['dark', 'light'] as const) {
    await page.emulateMedia({ colorScheme: theme })
    await page.goto(url)
    await ready(page)
    await page.waitForTimeout(300) // let transitions and late renders settle
    fs.mkdirSync(SHOTS, { recursive: true })
    await page.screenshot({ path: path.join(SHOTS, `a11y-${name}-${theme}.png`), fullPage: true })
    // Monaco (the YAML editor and diff) is a third-party widget with its own accessibility mode
    // (screen reader support, its own high-contrast themes): its internals are not ours to check
    const result = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .exclude('.monaco-editor')
      .exclude('.monaco-diff-editor')
      .analyze()
    const found = result.violations.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n${v.nodes
          .slice(0, 5)
          .map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 2).join(' ')}`)
          .join('\n')}`,
    )
    violations.push(...found.map((f) => `${url} (${theme}): ${f}`))
  }
}

test('every page passes axe in the dark and the light theme', async ({ page, request }) => {
  test.setTimeout(240_000)
  const { workflowId } = await saveWorkflow(request, yaml('exit 2'))
  const failedRun = await startFromUi(page, workflowId)
  await expect(page.getByTestId('run-state')).toHaveText('failed', { timeout: 30_000 })
  const ok = await saveWorkflow(request, yaml('echo fine'))
  const okRun = await startFromUi(page, ok.workflowId)
  await expect(page.getByTestId('run-state')).toHaveText('succeeded', { timeout: 30_000 })

  await check(page, 'home', '/', async (p) => {
    await expect(p.getByTestId('ov-failures')).toBeVisible()
    await expect(p.getByTestId('ov-slurm')).toBeVisible()
  })
  await check(page, 'workflows', '/workflows', async (p) => {
    await expect(p.getByText(`e2e-a11y-${STAMP}`).first()).toBeVisible()
  })
  await check(page, 'workflow', `/workflows/${workflowId}`, async (p) => {
    await expect(p.getByTestId('history-row').first()).toBeVisible()
  })
  await check(page, 'runs', '/runs', async (p) => {
    await expect(p.locator('table').first()).toBeVisible()
  })
  await check(page, 'run-failed', `/runs/${failedRun}`, async (p) => {
    await expect(p.getByTestId('fix-resume-plan')).toBeVisible()
    // the panels a user opens: the run-wide log and a task's log
    await p.getByTestId('run-log-toggle').click()
    await expect(p.getByTestId('run-log-lines').locator('.rlog-line').first()).toBeVisible()
    await p.locator('[data-testid^="task-row-"]').first().click()
    await expect(p.getByTestId('task-log')).toBeVisible()
  })
  await check(page, 'compose-resume', `/compose?workflow=${workflowId}&resumeFrom=${failedRun}`, async (p) => {
    await expect(p.getByTestId('resume-banner')).toContainText('Save, and resume it here')
    await expect(p.locator('.monaco-editor').first()).toBeVisible({ timeout: 30_000 })
  })
  await check(page, 'run-succeeded', `/runs/${okRun}`, async (p) => {
    await expect(p.getByTestId('run-state')).toHaveText('succeeded')
  })
  await check(page, 'compose', '/compose', async (p) => {
    await expect(p.locator('.monaco-editor').first()).toBeVisible({ timeout: 30_000 })
  })
  expect(violations).toEqual([])
})
