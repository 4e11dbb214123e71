/**
 * `controlroom run` on the real local Slurm, as a fasthep-flow user writes the pool: dask-jobqueue's
 * `queue` is the partition and `job_extra_directives` reach the sbatch script, and while the job
 * waits the CLI says why (Slurm's pending reason), in its output and in --json. `runs --json`
 * carries the reasons a live run's tasks wait.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forgetDb, setDb } from '../../db/client.ts'
import { createTestDatabase, type TestDatabase } from '../../db/testing.ts'
import { setEngine } from '../../execution/engine.ts'
import '../../execution/strategies/slurm/index.ts'
import { ensureSlurm } from '../../execution/strategies/slurm/testing.ts'
import { main } from '../main.ts'

let t: TestDatabase
let dir: string
let savedHome: string | undefined

function io() {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  }
}

beforeAll(async () => {
  ensureSlurm()
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-cli-slurm-'))
  savedHome = process.env.CONTROLROOM_HOME
  process.env.CONTROLROOM_HOME = dir
  writeFileSync(path.join(dir, 'site.yaml'), 'slurm:\n  pollIntervalMs: 250\n  maxPollIntervalMs: 500\n')
  t = await createTestDatabase('sqlite')
  setDb(t.db, t.url)
  setEngine(undefined)
})
afterAll(async () => {
  setEngine(undefined)
  forgetDb()
  await t?.cleanup()
  if (savedHome === undefined) delete process.env.CONTROLROOM_HOME
  else process.env.CONTROLROOM_HOME = savedHome
  rmSync(dir, { recursive: true, force: true })
})

const partition = () =>
  // the cluster's default partition, named as a fasthep-flow user would: `queue`
  readFileSync(process.env.SLURM_CONF!, 'utf8').match(/^PartitionName=(\S+).*Default=YES/m)?.[1] ?? 'debug'

describe('controlroom run on Slurm tells why a job waits', () => {
  it('queue and job_extra_directives reach sbatch; the pending reason is printed while the job waits and kept in --json', async () => {
    const file = path.join(dir, 'later.yaml')
    writeFileSync(
      file,
      [
        'name: cli-slurm-later',
        'analysis:',
        '  stages:',
        '    - id: Later',
        '      op: shell',
        '      params: { command: "echo ran" }',
        'execution:',
        '  strategy: slurm',
        '  pools:',
        '    default:',
        '      workers: 1',
        '      resources: { cpus: 1, memory: 100MB }',
        `      config: { queue: ${partition()}, job_extra_directives: ["--begin=now+4"] }`,
        '',
      ].join('\n'),
    )
    const c = io()
    expect(await main(['run', file], c.io), c.err.join('')).toBe(0)
    const text = c.out.join('')
    expect(text).toMatch(/Later\s+waiting: .*BeginTime|Later\s+waiting: waiting for its start time/)
    expect(text).toMatch(/run \S+ succeeded in/)
    const runDir = /logs and results: (\S+)/.exec(text)![1]!
    const scripts = readdirSync(path.join(runDir, 'slurm')).filter((f) => f.endsWith('.sh'))
    const script = readFileSync(path.join(runDir, 'slurm', scripts[0]!), 'utf8')
    expect(script).toContain('#SBATCH --begin=now+4\n')
    expect(script).toContain(`#SBATCH --partition=${partition()}\n`)

    setDb(t.db, t.url)
    setEngine(undefined)
    const j = io()
    expect(await main(['run', file, '--json'], j.io)).toBe(0)
    const res = JSON.parse(j.out.join(''))
    expect(res.waits).toEqual([
      { task: expect.any(String), stage: 'Later', reason: expect.stringMatching(/start time|BeginTime/) },
    ])
  }, 180_000)

  it('runs --json carries the reasons the tasks of a live run wait', async () => {
    setDb(t.db, t.url)
    const run = await t.db.run.findFirst({ orderBy: { createdAt: 'desc' } })
    const task = await t.db.task.findFirst({ where: { runId: run!.id } })
    // the run as it was while its job pended
    await t.db.run.update({ where: { id: run!.id }, data: { state: 'running', finishedAt: null } })
    await t.db.task.update({
      where: { id: task!.id },
      data: { state: 'queued', reason: 'BeginTime: waiting for its start time' },
    })
    const j = io()
    expect(await main(['runs', '--json', '--limit', '1'], j.io)).toBe(0)
    const [row] = JSON.parse(j.out.join(''))
    expect(row.waiting).toEqual([{ task: task!.id, stage: 'Later', reason: 'BeginTime: waiting for its start time' }])
  })
})
