/**
 * Developer tool (not part of `npm run bench`): a Chromium CPU profile of the live run page while a
 * 10,000-task run of 1,000 stages streams in, and its heaviest functions with the code around them.
 *   NEXT_DIST_DIR=.next-x npx tsx bench/streamPageProfile.ts [out.cpuprofile] [chains|one]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openBrowser } from './streamPage.ts'

const TOKEN = 'bench-stream-token-0123456789'
const out = process.argv[2] ?? path.join(os.tmpdir(), 'run-page.cpuprofile')
const shape = process.argv[3] ?? 'chains'
const port = 3490 + Math.floor(Math.random() * 100)
const home = mkdtempSync(path.join(os.tmpdir(), 'cr-page-prof-'))
const server = spawn('npx', ['next', 'start', '-p', String(port), '-H', '127.0.0.1'], {
  env: {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    CONTROLROOM_HOME: home,
    CONTROLROOM_TOKEN: TOKEN,
    DATABASE_URL: `file:${path.join(home, 'controlroom.db')}`,
  },
  stdio: 'ignore',
  detached: true,
})
const base = `http://127.0.0.1:${port}`
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
async function post<T>(proc: string, input: unknown): Promise<T> {
  const r = await fetch(`${base}/api/trpc/${proc}`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ json: input }),
  })
  const b = (await r.json()) as { result: { data: { json: T } } }
  return b.result.data.json
}
function yaml(): string {
  const n = shape === 'chains' ? 10 : 10_000
  const files = Array.from({ length: n }, (_, i) => `p${i}.root`).join(', ')
  const stages = ['    - id: Warmup', '      op: shell', '      params: { command: "sleep 8" }']
  const ids = shape === 'chains' ? Array.from({ length: 1000 }, (_, i) => `c${Math.floor(i / 50)}s${i % 50}`) : ['P']
  for (const [i, id] of ids.entries()) {
    const prev = shape === 'chains' && i % 50 ? ids[i - 1] : 'Warmup'
    stages.push(
      `    - id: ${id}`,
      '      op: noop',
      `      needs: [${prev}]`,
      '      params: { partition: file, dataset: parts }',
    )
  }
  return `version: 1\nname: prof-${shape}\ndata:\n  datasets:\n    - name: parts\n      files: [${files}]\nanalysis:\n  stages:\n${stages.join('\n')}\n`
}
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break
    } catch {}
    if (i > 600) throw new Error('no server')
    await new Promise((r) => setTimeout(r, 200))
  }
  const { browser, page } = await openBrowser(base, TOKEN)
  const saved = await post<{ version: { id: string } }>('workflow.saveVersion', { yaml: yaml(), message: 'p' })
  const { runId } = await post<{ runId: string }>('run.start', { versionId: saved.version.id })
  await page.goto(`${base}/runs/${runId}`)
  await page.waitForSelector('[data-testid="stage-rows"] [data-done]', { timeout: 60_000 })
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="run-state"]')?.getAttribute('data-state')
    return s === 'running'
  })
  await cdp.send('Profiler.start')
  await page.waitForFunction(
    () => document.querySelector('[data-testid="run-state"]')?.getAttribute('data-state') === 'succeeded',
    undefined,
    { timeout: 600_000, polling: 500 },
  )
  const { profile } = (await cdp.send('Profiler.stop')) as { profile: unknown }
  writeFileSync(out, JSON.stringify(profile))
  console.log(`wrote ${out}`)
  const dom = await page.evaluate(() => {
    const by: Record<string, number> = {}
    for (const el of document.querySelectorAll('*')) {
      const owner =
        el
          .closest('[data-testid]')
          ?.getAttribute('data-testid')
          ?.replace(/-[^-]*\d[^-]*$/, '-*') ?? '(none)'
      const key = `${owner} ${el.tagName.toLowerCase()}`
      by[key] = (by[key] ?? 0) + 1
    }
    return Object.entries(by)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
  })
  for (const [k, n] of dom) console.log(`${String(n).padStart(6)} ${k}`)
  await browser.close()
} finally {
  if (server.pid) process.kill(-server.pid, 'SIGTERM')
}
