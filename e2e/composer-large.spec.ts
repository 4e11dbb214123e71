/**
 * A 2,000-stage workflow pasted into the composer (regions × datasets: 20 repeated fan-outs of 48
 * define → fill chains): the fan-outs show as group nodes with counts, the search box finds a stage
 * inside a group (opening it and centring it), a click expands a group, "Collapse groups" folds
 * them again, and a parameter edit moves no node (the layout is reused: same structure).
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { generateFanOut } from '../examples/generate-large'

const SHOTS = path.join('test-results', 'screenshots')
async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `composer-large-${name}.png`) })
}

/** Pastes `text` over the whole document through the system clipboard (Ctrl+A, Ctrl+V), as a user would. */
async function pasteDocument(page: Page, text: string) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])
  await page.evaluate((t) => navigator.clipboard.writeText(t), text)
  await page.getByTestId('composer-editor').locator('.monaco-editor .view-lines').click()
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Control+V')
}

/** Is the node's box inside the graph's viewport? */
async function inView(page: Page, testId: string): Promise<boolean> {
  const graph = await page.getByTestId('pipeline-graph').boundingBox()
  const node = await page.getByTestId(testId).boundingBox()
  if (!graph || !node) return false
  return (
    node.x >= graph.x &&
    node.y >= graph.y &&
    node.x + node.width <= graph.x + graph.width + 1 &&
    node.y + node.height <= graph.y + graph.height + 1
  )
}

test('2,000 stages: groups with counts, search into a group, expand on click, no re-layout on a parameter edit', async ({
  page,
}) => {
  test.setTimeout(180_000)
  const source = generateFanOut(2000, 48)
  await page.goto('/compose?example=local-quickstart')
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  await pasteDocument(page, source)
  await expect
    .poll(() => page.evaluate(() => window.__composer!.getValue().length), { timeout: 30_000 })
    .toBe(source.length)

  const facts = page.getByTestId('plan-facts')
  await expect(facts).toContainText('2000 stages', { timeout: 90_000 })
  const graph = page.getByTestId('pipeline-graph')
  await expect(graph).toHaveAttribute('data-layout', 'ready', { timeout: 60_000 })
  // 20 regions: each fan-out of 48 define → fill chains is one group node
  await expect(graph).toHaveAttribute('data-groups', '20')
  await expect(graph).toHaveAttribute('data-nodes', String(2000 - 20 * 96 + 20))
  const group0 = page.getByTestId('dag-group-R0_D0_Define')
  await expect(group0).toBeVisible()
  await expect(group0).toHaveAttribute('data-count', '48')
  await expect(group0).toContainText('×48')
  await expect(group0).toContainText('hep.define → hep.hist')
  await shot(page, 'groups')

  // search: a stage inside a collapsed group → the group opens, the stage is centred and selected
  const search = page.getByTestId('graph-search-input')
  await search.fill('r7_d31_fill')
  await search.press('Enter')
  await expect(graph).toHaveAttribute('data-groups', '19', { timeout: 30_000 })
  await expect(graph).toHaveAttribute('data-layout', 'ready', { timeout: 60_000 })
  const found = page.getByTestId('dag-node-R7_D31_Fill')
  await expect(found).toBeVisible()
  await expect.poll(() => inView(page, 'dag-node-R7_D31_Fill'), { timeout: 10_000 }).toBe(true)
  await expect(found).toHaveClass(/is-selected/)
  await expect(page.getByTestId('cursor-status')).toContainText('stage R7_D31_Fill')
  await shot(page, 'search')

  // an unknown name says so
  await search.fill('no-such-stage')
  await search.press('Enter')
  await expect(page.getByTestId('graph-search-message')).toContainText('no stage matches “no-such-stage”')

  // click a group: it expands into its 96 stages
  await search.fill('R3_Select')
  await search.press('Enter')
  const group3 = page.getByTestId('dag-group-R3_D0_Define')
  await expect(group3).toBeVisible()
  await group3.click()
  await expect(graph).toHaveAttribute('data-groups', '18', { timeout: 30_000 })
  await expect(graph).toHaveAttribute('data-layout', 'ready', { timeout: 60_000 })
  await expect(page.getByTestId('dag-node-R3_D0_Define')).toBeVisible()

  // and folds back
  await page.getByTestId('graph-collapse-groups').click()
  await expect(graph).toHaveAttribute('data-groups', '20')
  await expect(graph).toHaveAttribute('data-layout', 'ready')

  // a parameter edit keeps the structure: the layout is reused, no node moves
  const setup = page.getByTestId('dag-node-Setup').locator('xpath=..')
  await page.getByTestId('graph-search-input').fill('Setup')
  await page.getByTestId('graph-search-input').press('Enter')
  await expect(page.getByTestId('dag-node-Setup')).toBeVisible()
  await page.waitForTimeout(400) // the centring animation
  const before = await setup.evaluate((el) => (el as HTMLElement).style.transform)
  await page.evaluate(() =>
    window.__composer!.setValue(window.__composer!.getValue().replace('nMuon >= 1"', 'nMuon >= 4"')),
  )
  await expect
    .poll(() => page.evaluate(() => window.__composer!.result().plan?.stages.find((s) => s.id === 'R0_Select')?.params))
    .toEqual({ selection: 'nMuon >= 4' })
  await expect(graph).toHaveAttribute('data-layout', 'ready')
  expect(await setup.evaluate((el) => (el as HTMLElement).style.transform)).toBe(before)
})
