/**
 * `controlroom run` with the Dask backend and the LocalCluster keys of fasthep-flow's `dask_local`
 * profile: the scheduler Control Room starts serves its dashboard where `dashboard_address` says,
 * and the workers are started with the workflow's `memory_limit` (a real Dask, on this host).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../main.ts'
import { cliTestHome } from '../testing.ts'

const home = cliTestHome('dask')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

describe('controlroom run --backend dask honours the LocalCluster keys', () => {
  it('dashboard_address places the dashboard; memory_limit reaches each worker', async () => {
    const port = await freePort()
    const file = path.join(home.dir, 'dask.yaml')
    writeFileSync(
      file,
      [
        'name: cli-dask-keys',
        'analysis:',
        '  stages:',
        '    - id: A',
        '      op: shell',
        '      params: { command: "echo a" }',
        'execution:',
        '  backend: dask',
        '  strategy: local',
        `  config: { workers: 1, threads_per_worker: 1, processes: true, memory_limit: 300MB, dashboard_address: "127.0.0.1:${port}" }`,
        '',
      ].join('\n'),
    )
    const out: string[] = []
    const err: string[] = []
    const code = await main(['run', file, '--json'], {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
    })
    expect(code, err.join('')).toBe(0)
    const res = JSON.parse(out.join(''))
    const session = JSON.parse(readFileSync(path.join(res.runDir, 'dask', 'session.json'), 'utf8'))
    expect(session.scheduler.dashboard).toBe(`http://127.0.0.1:${port}`)
    // each worker says at start-up the memory limit it was given
    const logs = readdirSync(path.join(res.runDir, 'dask', 'workers')).filter((f) => f.endsWith('.log'))
    expect(logs.length).toBeGreaterThan(0)
    for (const f of logs)
      expect(readFileSync(path.join(res.runDir, 'dask', 'workers', f), 'utf8')).toMatch(/Memory:\s+300\.00 MiB/)
  }, 120_000)
})
