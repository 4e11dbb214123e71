/**
 * Saving from the composer: a draft becomes a workflow, an edit becomes version 2, the workflow page
 * shows both versions and their diff, and reopening the saved version in the composer after a reload
 * gives back exactly the saved text, and Run starts it and follows it live to success. A stale tab gets a conflict instead of overwriting.
 */
import { expect, test, type Page } from '@playwright/test'

async function openComposer(page: Page, url: string) {
  await page.goto(url)
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
}

test('save from the composer, edit, save again, see history and diff, reopen after reload', async ({ page }) => {
  const name = `compose-save-${Date.now()}`
  await openComposer(page, '/compose?example=local-quickstart')
  await expect(page.getByTestId('save-state')).toHaveText('not saved')
  await page.getByTestId('save-name').fill(name)
  await page.getByTestId('save-message').fill('first')
  await page.getByTestId('save-button').click()
  await expect(page.getByTestId('save-state')).toHaveText('saved')
  await expect(page.getByTestId('saved-workflow-link')).toContainText(`${name} · v1`)
  await expect(page).toHaveURL(/\/compose\?workflow=[^&]+&version=/)

  // Edit by typing for real: a comment line at the top.
  await page.getByTestId('composer-editor').locator('.monaco-editor .view-lines').click()
  await page.evaluate(() => window.__composer!.setCursor(1, 1))
  await page.keyboard.type('# tuned for the laptop\n', { delay: 5 })
  await expect(page.getByTestId('save-state')).toHaveText('unsaved changes')
  await page.getByTestId('save-message').fill('second')
  await page.getByTestId('save-button').click()
  await expect(page.getByTestId('saved-workflow-link')).toContainText(`${name} · v2`)
  await expect(page.getByTestId('save-state')).toHaveText('saved')
  const savedText = await page.evaluate(() => window.__composer!.getValue())
  expect(savedText.startsWith('# tuned for the laptop\n')).toBe(true)

  // A saved, valid version can be run from here.
  await expect(page.getByRole('button', { name: /run/i }).first()).toBeVisible()

  // Reload: the composer reopens the saved version from the library, not from a draft.
  const url = page.url()
  await page.reload()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  expect(await page.evaluate(() => window.__composer!.getValue())).toBe(savedText)
  expect(page.url()).toBe(url)

  // The workflow page: two versions, newest first, and their diff.
  await page.getByTestId('saved-workflow-link').click()
  await expect(page.getByTestId('workflow-name')).toContainText(name)
  const rows = page.getByTestId('history-row')
  await expect(rows).toHaveCount(2)
  await expect(rows.first()).toContainText('second')
  await expect(rows.last()).toContainText('first')

  // Back in the composer, run the saved version: the run page follows it live to success.
  await page.goBack()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  await page.getByTestId('start-run-button').click()
  const anyway = page.getByTestId('start-run-anyway')
  await Promise.race([page.waitForURL(/\/runs\/[^/?]+$/), anyway.waitFor({ state: 'visible' })])
  if (await anyway.isVisible()) await anyway.click()
  await page.waitForURL(/\/runs\/[^/?]+$/)
  await expect(page.getByTestId('run-state')).toContainText(/succeeded/i, { timeout: 45_000 })
  await expect(page.getByTestId('stage-node-Summarise')).toHaveAttribute('data-state', 'succeeded')
})

test('a stale composer tab gets a conflict, keeps its text, and can save it as a copy or reload', async ({
  page,
  context,
}) => {
  const name = `compose-conflict-${Date.now()}`
  await openComposer(page, '/compose?example=local-quickstart')
  await page.getByTestId('save-name').fill(name)
  await page.getByTestId('save-button').click()
  await expect(page.getByTestId('save-state')).toHaveText('saved')
  const url = page.url()

  const other = await context.newPage()
  await openComposer(other, url)
  await other.evaluate(() => window.__composer!.setValue(window.__composer!.getValue() + '\n# from the other tab\n'))
  await other.getByTestId('save-button').click()
  await expect(other.getByTestId('saved-workflow-link')).toContainText('v2')

  await page.evaluate(() => window.__composer!.setValue(window.__composer!.getValue() + '\n# from the first tab\n'))
  await page.getByTestId('save-button').click()
  await expect(page.getByTestId('save-error')).toContainText(/saved by .* since you opened it/)
  await expect(page.getByTestId('saved-workflow-link')).toContainText('v1')
  expect(await page.evaluate(() => window.__composer!.getValue())).toContain('# from the first tab')

  // The message says "reload or save as a copy": both are offered. The copy is a new workflow, v1.
  await expect(page.getByTestId('conflict-reload')).toBeVisible()
  await page.getByTestId('conflict-save-copy').click()
  await expect(page.getByTestId('saved-workflow-link')).toContainText(`${name} (copy) · v1`)
  await expect(page.getByTestId('save-state')).toHaveText('saved')
  await expect(page.getByTestId('save-error')).toHaveCount(0)
  const copyUrl = page.url()
  expect(copyUrl).not.toBe(url)

  // Reload (on another stale edit of the original): the newest version replaces the text.
  await page.goto(url) // the original workflow at v1 again: stale, since the other tab saved v2
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  // edit only once v1 has loaded into the editor (an edit made before would be replaced by it)
  await expect(page.getByTestId('saved-workflow-link')).toContainText(`${name} · v1`)
  await expect(page.getByTestId('save-state')).toHaveText('saved')
  await page.evaluate(() => window.__composer!.setValue(window.__composer!.getValue() + '\n# stale again\n'))
  await page.getByTestId('save-button').click()
  await expect(page.getByTestId('save-error')).toBeVisible()
  await page.getByTestId('conflict-reload').click()
  await expect(page.getByTestId('saved-workflow-link')).toContainText(`${name} · v2`)
  await expect.poll(() => page.evaluate(() => window.__composer!.getValue())).toContain('# from the other tab')
  expect(await page.evaluate(() => window.__composer!.getValue())).not.toContain('# stale again')
  await expect(page.getByTestId('save-state')).toHaveText('saved')
  await expect(page.getByTestId('save-error')).toHaveCount(0)
})
