/**
 * The composer by keyboard alone: Tab reaches the pipeline graph (one tab stop), the arrow keys move
 * between its nodes with a visible outline, Enter does what a click does (lands on the stage's line);
 * the routing rows and the problems are reached with Tab, moved through with ↑/↓ and opened with
 * Enter. A large graph zoomed out is drawn on one canvas; a click there still selects a stage and an
 * arrow key brings the nodes back at a readable zoom.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test, type Page } from '@playwright/test'

const SHOTS = path.join('test-results', 'screenshots')
async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `composer-keyboard-${name}.png`) })
}

async function openComposer(page: Page, example: string) {
  await page.goto(`/compose?example=${example}`)
  await expect(page.getByTestId('composer-editor').locator('.monaco-editor .view-lines')).toBeVisible()
  await page.waitForFunction(() => Boolean(window.__composer) && window.__composer!.getValue().length > 0)
  await expect(page.getByTestId('pipeline-graph')).toHaveAttribute('data-layout', 'ready')
}

/** 1-based line of the first source line matching `re`. */
async function lineOf(page: Page, re: RegExp): Promise<number> {
  const text = await page.evaluate(() => window.__composer!.getValue())
  return text.split('\n').findIndex((l) => re.test(l)) + 1
}

/** Presses `key` until `done` holds (at most `max` times); fails if it never does. */
async function pressUntil(page: Page, key: string, done: () => Promise<boolean>, max = 15) {
  for (let i = 0; i < max; i++) {
    if (await done()) return
    await page.keyboard.press(key)
  }
  expect(await done(), `${key} never reached the target`).toBe(true)
}

const focusedTestId = (page: Page) =>
  page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? '')

test('Tab reaches the graph; arrows move between nodes with a visible outline; Enter lands on the line', async ({
  page,
}) => {
  await openComposer(page, 'heterogeneous')
  const graph = page.getByTestId('pipeline-graph')
  const stages = await page.evaluate(() => window.__composer!.result().plan!.stages.map((s) => s.id))
  const edges = await page.evaluate(() => window.__composer!.result().plan!.edges)

  // from the search box, Shift+Tab walks back (over the zoom buttons) to the graph itself
  await page.getByTestId('graph-search-input').focus()
  await pressUntil(page, 'Shift+Tab', async () => (await focusedTestId(page)) === 'pipeline-graph')
  // the graph starts on its first stage and outlines it
  const first = await graph.getAttribute('data-active')
  expect(stages).toContain(first)
  const firstNode = page.getByTestId(`dag-node-${first}`)
  await expect(firstNode.locator('xpath=..')).toHaveClass(/is-kbd-active/)
  await expect(firstNode).toHaveCSS('outline-style', 'solid')
  await expect(graph).toHaveAttribute('aria-activedescendant', (await firstNode.getAttribute('id')) ?? 'missing')

  // → follows an edge downstream
  await page.keyboard.press('ArrowRight')
  const second = await graph.getAttribute('data-active')
  expect(edges.some((e) => e.from === first && e.to === second)).toBe(true)
  await expect(page.getByTestId(`dag-node-${second}`)).toHaveCSS('outline-style', 'solid')
  await expect(firstNode).not.toHaveCSS('outline-style', 'solid')
  await shot(page, 'graph-node-focused')

  // Enter = click: the editor goes to the stage's line and the node is selected
  await page.keyboard.press('Enter')
  const line = await lineOf(page, new RegExp(`-\\s+id:\\s*${second}\\b`))
  await expect(page.getByTestId('composer-editor')).toHaveAttribute('data-cursor-line', String(line))
  await expect(page.getByTestId('cursor-status')).toContainText(`stage ${second}`)
  await expect(page.getByTestId(`dag-node-${second}`)).toHaveClass(/is-selected/)
  // ← goes back upstream
  await graph.focus()
  await page.keyboard.press('ArrowLeft')
  const back = await graph.getAttribute('data-active')
  expect(edges.some((e) => e.from === back && e.to === second)).toBe(true)
})

test('routing rows: Tab reaches them, ↑/↓ move, Enter shows the stage in the editor', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  const order = await page.evaluate(() =>
    [...window.__composer!.result().plan!.stages].sort((a, b) => a.index - b.index).map((s) => s.id),
  )
  await page.getByTestId('plan-tab-routing').focus()
  await pressUntil(page, 'Tab', async () => (await focusedTestId(page)) === `routing-${order[0]}`)
  await expect(page.getByTestId(`routing-${order[0]}`)).toHaveCSS('outline-style', 'solid')
  await page.keyboard.press('ArrowDown')
  await expect.poll(() => focusedTestId(page)).toBe(`routing-${order[1]}`)
  await page.keyboard.press('ArrowDown')
  const third = order[2]!
  await expect.poll(() => focusedTestId(page)).toBe(`routing-${third}`)
  await page.keyboard.press('ArrowUp')
  await expect.poll(() => focusedTestId(page)).toBe(`routing-${order[1]}`)
  await page.keyboard.press('ArrowDown')
  await expect.poll(() => focusedTestId(page)).toBe(`routing-${third}`)
  await shot(page, 'routing-row-focused')
  await page.keyboard.press('Enter')
  const line = await lineOf(page, new RegExp(`-\\s+id:\\s*${third}\\b`))
  await expect(page.getByTestId('composer-editor')).toHaveAttribute('data-cursor-line', String(line))
  await expect(page.getByTestId(`dag-node-${third}`)).toHaveClass(/is-selected/)
  // End goes to the last stage; Tab leaves the table (one tab stop for all its rows)
  await page.getByTestId(`routing-${third}`).focus()
  await page.keyboard.press('End')
  await expect.poll(() => focusedTestId(page)).toBe(`routing-${order[order.length - 1]}`)
})

test('problems: Tab reaches each one, Enter puts the cursor on its line', async ({ page }) => {
  await openComposer(page, 'heterogeneous')
  // a requirement nobody provides: an error at the require line
  await page.evaluate(() =>
    window.__composer!.setValue(window.__composer!.getValue().replace(/require:\s*gpu\b/, 'require: gpu_nodes')),
  )
  const requireLine = await lineOf(page, /require:\s*gpu_nodes/)
  await page.getByTestId('plan-tab-problems').click()
  const problem = page.getByTestId('problems-list').locator('[data-code="unknown-pool"]')
  await expect(problem).toHaveAttribute('data-line', String(requireLine))
  await page.getByTestId('plan-tab-problems').focus()
  const button = problem.getByRole('button')
  await pressUntil(page, 'Tab', () => button.evaluate((b) => b === document.activeElement))
  await expect(button).toHaveCSS('outline-style', 'solid')
  await shot(page, 'problem-focused')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('composer-editor')).toHaveAttribute('data-cursor-line', String(requireLine))
})

/** A chain workflow of `n` stages (no fan-outs to group: every stage is a node). */
function chains(n: number): string {
  const out = ['name: keyboard-chains', 'analysis:', '  stages:']
  for (let i = 0; i < n; i++) {
    out.push(`    - id: S${i}`, '      op: noop')
    if (i % 20 === 0) out.push('      needs: []')
  }
  return `${out.join('\n')}\n`
}

test('a large graph zoomed out is one canvas: a click on a stage selects it, an arrow key zooms back in', async ({
  page,
}) => {
  test.setTimeout(120_000)
  await openComposer(page, 'local-quickstart')
  await page.evaluate((y) => window.__composer!.setValue(y), chains(400))
  const graph = page.getByTestId('pipeline-graph')
  await expect(page.getByTestId('plan-facts')).toContainText('400 stages', { timeout: 30_000 })
  await expect(graph).toHaveAttribute('data-layout', 'ready', { timeout: 30_000 })
  await expect(page.getByTestId('dag-node-S0')).toBeVisible()
  // S0's place in the graph (React Flow's node transform is its position)
  const s0 = await page
    .getByTestId('dag-node-S0')
    .locator('xpath=..')
    .evaluate((el) => {
      const m = /translate\(([-\d.]+)px,\s*([-\d.]+)px\)/.exec((el as HTMLElement).style.transform)
      return { x: Number(m?.[1]), y: Number(m?.[2]) }
    })

  // zoom out with the zoom-out button, well into the far view
  const zoomOut = page.locator('.react-flow__controls-zoomout')
  for (let i = 0; i < 20 && !(await page.getByTestId('graph-far-view').isVisible()); i++) await zoomOut.click()
  await expect(page.getByTestId('graph-far-view')).toBeVisible()
  for (let i = 0; i < 4; i++) await zoomOut.click()
  await expect(graph.locator('.react-flow__node')).toHaveCount(0)
  await page.waitForTimeout(400)
  await shot(page, 'far-view')

  // a click where S0 is drawn selects it (and the editor goes to its line)
  const at = await page.evaluate(({ x, y }) => {
    const vp = document.querySelector<HTMLElement>('.react-flow__viewport')!
    const m = /translate\(([-\d.]+)px,\s*([-\d.]+)px\) scale\(([-\d.]+)\)/.exec(vp.style.transform)!
    const box = vp.closest('.react-flow')!.getBoundingClientRect()
    const [tx, ty, k] = [Number(m[1]), Number(m[2]), Number(m[3])]
    return { x: box.left + tx + (x + 110) * k, y: box.top + ty + (y + 39) * k }
  }, s0)
  await page.mouse.click(at.x, at.y)
  await expect(page.getByTestId('cursor-status')).toContainText('stage S0')

  // the keyboard brings the nodes back, at a zoom where they can be read
  await graph.focus()
  await page.keyboard.press('ArrowRight')
  const active = await graph.getAttribute('data-active')
  expect(active).toMatch(/^S\d+$/)
  await expect(page.getByTestId(`dag-node-${active}`)).toBeVisible({ timeout: 10_000 })
  await expect(page.getByTestId('graph-far-view')).toHaveCount(0)
})
