/**
 * The workflow library in Chromium against the production build: import (save v1), edit and save
 * again (v2, then an invalid v3), open the history, see the diff in Monaco's diff editor, reload and
 * find it all; list search and filters; export; a conflict between two tabs; and an unauthenticated
 * browser gets the token page. Nothing may leave localhost.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'

const SHOTS = path.join('test-results', 'screenshots')
const NAME = `e2e-library-${Date.now().toString(36)}`

const V1 = `name: ${NAME}
analysis:
  stages:
    - id: select
      op: shell
      params: {command: "echo select"}
    - id: plot
      op: noop
`
const V2 =
  V1.replace('echo select', 'echo select muons') +
  `    - id: summary
      op: noop
      needs: [plot]
`
const V3 =
  V2 +
  `    - id: broken
      op: noop
      needs: [nowhere]
`

let requests: string[] = []
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
  expect(outside, 'requests that left localhost (e.g. a Monaco CDN)').toEqual([])
})

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `library-${name}.png`), fullPage: true })
}

const file = (name: string, text: string) => ({ name, mimeType: 'application/yaml', buffer: Buffer.from(text) })

async function uploadVersion(page: Page, text: string, message: string) {
  await page.getByTestId('upload-version-input').setInputFiles(file(`${NAME}.yaml`, text))
  const form = page.getByTestId('upload-version-form')
  await expect(form).toBeVisible()
  await form.getByLabel('Version message').fill(message)
  await form.getByTestId('upload-version-save').click()
  await expect(form).toBeHidden()
}

test('save, edit, save again, history, diff, reload and find it all', async ({ page }) => {
  // 1. save: import a .yaml file from the library page -> version 1
  await page.goto('/workflows')
  await expect(page.getByRole('heading', { name: 'Workflows' })).toBeVisible()
  await page.getByTestId('import-input').setInputFiles(file(`${NAME}.yaml`, V1))
  await expect(page).toHaveURL(/\/workflows\/[^/]+$/)
  const workflowUrl = page.url()
  await expect(page.getByTestId('workflow-name')).toHaveText(NAME)
  const rows = page.getByTestId('history-row')
  await expect(rows).toHaveCount(1)
  await expect(rows.first()).toContainText(`Imported from ${NAME}.yaml`)
  await expect(rows.first()).toContainText('valid')

  // 2. edit and save again -> version 2 (head), with message and author
  await uploadVersion(page, V2, 'select muons, add a summary')
  await expect(rows).toHaveCount(2)
  await expect(rows.nth(0)).toContainText('v2')
  await expect(rows.nth(0)).toContainText('head')
  await expect(rows.nth(0)).toContainText('select muons, add a summary')
  await expect(rows.nth(0).locator('.badge.valid')).toBeVisible()

  // 3. the diff v1 -> v2: summary and Monaco's diff editor with both sides
  await expect(page.getByTestId('diff-summary')).toContainText('v1 → v2: +4 −1 lines in 2 changes')
  const diff = page.getByTestId('diff-editor')
  await expect(diff.locator('.monaco-diff-editor')).toBeVisible()
  await expect(diff.locator('.editor.modified')).toContainText('echo select muons')
  await expect(diff.locator('.editor.original')).toContainText('echo select"')
  await expect(diff.locator('.editor.modified .line-insert, .editor.modified .char-insert').first()).toBeVisible()
  await shot(page, 'diff-v1-v2')

  // 4. an invalid edit is saved too, marked invalid with its problem
  await uploadVersion(page, V3, 'try a broken dependency')
  await expect(rows).toHaveCount(3)
  await expect(rows.nth(0)).toContainText('invalid · 1 error')
  await expect(page.getByTestId('version-problems')).toContainText("stage 'broken' needs 'nowhere'")

  // 5. compare any two versions: v1 -> v3
  await page.getByLabel('Diff from version').selectOption({ index: 2 }) // newest first: v3, v2, v1
  await expect(page.getByTestId('diff-summary')).toContainText('v1 → v3')

  // 6. reload: everything is still there
  await page.reload()
  await expect(page.getByTestId('workflow-name')).toHaveText(NAME)
  await expect(rows).toHaveCount(3)
  await expect(rows.nth(0)).toContainText('try a broken dependency')
  await expect(rows.nth(1)).toContainText('select muons, add a summary')
  await expect(rows.nth(2)).toContainText(`Imported from ${NAME}.yaml`)
  await expect(page.getByTestId('diff-summary')).toContainText('v2 → v3')
  await expect(page.getByTestId('diff-editor').locator('.editor.modified')).toContainText('nowhere')
  await shot(page, 'history-after-reload')

  // 7. export the head as a file
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-link').click()])
  expect(download.suggestedFilename()).toBe(`${NAME}-v3.yaml`)
  expect(fs.readFileSync((await download.path())!, 'utf8')).toBe(V3)

  // 8. "open in composer" points at the head version
  await expect(page.getByTestId('open-in-composer')).toHaveAttribute(
    'href',
    /^\/compose\?workflow=[^&]+&version=[^&]+$/,
  )

  // 9. the library lists it; search and filters find it
  await page.goto('/workflows')
  const row = page.getByTestId('workflow-row').filter({ hasText: NAME })
  await expect(row).toHaveCount(1)
  await expect(row).toContainText('v3')
  await expect(row).toContainText('invalid')
  await page.getByLabel('Search workflows').fill(NAME.slice(-6))
  await expect(page.getByTestId('workflow-row')).toHaveCount(1)
  await page.getByLabel('Validity').selectOption('valid')
  await expect(page.getByTestId('library-empty')).toBeVisible()
  await page.getByLabel('Validity').selectOption('invalid')
  await expect(row).toHaveCount(1)
  await page.getByLabel('Last run state').selectOption('none')
  await expect(row).toHaveCount(1)
  await shot(page, 'library-list')
  await row.getByRole('link', { name: NAME }).click()
  await expect(page).toHaveURL(workflowUrl)
})

test('two tabs saving the same workflow: the second gets a clear conflict and can save a copy', async ({
  page,
  context,
}) => {
  await page.goto('/workflows')
  await page
    .getByTestId('import-input')
    .setInputFiles(file(`${NAME}-conflict.yaml`, V1.replace(NAME, `${NAME}-conflict`)))
  await expect(page).toHaveURL(/\/workflows\/[^/]+$/)
  const other = await context.newPage()
  other.on('request', (r) => requests.push(r.url()))
  await other.goto(page.url())
  await expect(other.getByTestId('history-row')).toHaveCount(1)

  await uploadVersion(page, V2, 'first tab')
  await expect(page.getByTestId('history-row')).toHaveCount(2)

  // the second tab still edits from v1
  await other.getByTestId('upload-version-input').setInputFiles(file('mine.yaml', V2 + '# my change\n'))
  await other.getByLabel('Version message').fill('second tab')
  await other.getByTestId('upload-version-save').click()
  const err = other.getByTestId('upload-error')
  await expect(err).toContainText(
    /this workflow was saved by .+ at .+ \(version 2\) since you opened it; reload or save as a copy/,
  )
  await shot(other, 'conflict')
  await other.getByTestId('save-as-copy').click()
  await expect(other.getByTestId('workflow-name')).toHaveText(`${NAME}-conflict (copy)`)
  await expect(other.getByTestId('history-row')).toHaveCount(1)

  // no version was lost in the original
  await page.reload()
  await expect(page.getByTestId('history-row')).toHaveCount(2)
  await expect(page.getByTestId('history-row').first()).toContainText('first tab')
})

test.describe('without the token', () => {
  test.use({ storageState: { cookies: [], origins: [] } })
  test('pages ask for the token and the API refuses', async ({ page, request }) => {
    const res = await page.goto('/workflows')
    expect(res?.status()).toBe(401)
    await expect(page.getByRole('heading', { name: 'Control Room' })).toBeVisible()
    await expect(page.getByText('needs its access token')).toBeVisible()
    await page.getByLabel('Token').fill('wrong-token')
    await page.getByRole('button', { name: 'Continue' }).click()
    await expect(page.getByRole('alert')).toHaveText('That token is not right.')
    const api = await request.get('/api/trpc/workflow.list', { headers: {} })
    expect(api.status()).toBe(401)
  })
})

test('diff editor: switching versions and leaving the page raise no error; run an older version from history', async ({
  page,
}) => {
  const name = `${NAME}-diff`
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto('/workflows')
  await page.getByTestId('import-input').setInputFiles(file(`${name}.yaml`, V1.replace(NAME, name)))
  await expect(page).toHaveURL(/\/workflows\/[^/]+$/)
  const rows = page.getByTestId('history-row')
  await uploadVersion(page, V2.replace(NAME, name), 'v2')
  await expect(rows).toHaveCount(2) // the next upload's parent is the new head
  await uploadVersion(page, V2.replace(NAME, name).replace('echo select muons', 'echo select electrons'), 'v3')
  await expect(rows).toHaveCount(3)
  const diff = page.getByTestId('diff-editor')
  await expect(diff.locator('.editor.modified')).toContainText('electrons')

  // pick other versions on both sides, back and forth: each pair shows, nothing is thrown
  for (const [from, to, want] of [
    [2, 1, 'echo select muons'],
    [2, 0, 'electrons'],
    [1, 0, 'electrons'],
    [0, 2, 'echo select"'],
  ] as const) {
    await page.getByLabel('Diff from version').selectOption({ index: from })
    await page.getByLabel('Diff to version').selectOption({ index: to })
    await expect(diff.locator('.editor.modified')).toContainText(want)
  }
  expect(errors).toEqual([])

  // run this version: v1 (not the head) from its history row; the run is of v1
  const v1Run = page.getByTestId('history-run-v1')
  await expect(v1Run.getByTestId('start-run-button')).toBeEnabled()
  await v1Run.getByTestId('start-run-button').click()
  const anyway = v1Run.getByTestId('start-run-anyway')
  await Promise.race([page.waitForURL(/\/runs\/[^/?]+$/), anyway.waitFor({ state: 'visible' })])
  if (await anyway.isVisible()) await anyway.click()
  await page.waitForURL(/\/runs\/[^/?]+$/, { timeout: 30_000 })
  await expect(page.locator('.rh-version')).toHaveText('v1')
  // leaving the workflow page (with its diff editor open) threw nothing either
  expect(errors).toEqual([])
})
