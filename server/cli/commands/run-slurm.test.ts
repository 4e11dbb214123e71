/**
 * `controlroom run` on the real local Slurm, as a fasthep-flow user writes the pool: dask-jobqueue's
 * `queue` is the partition and `job_extra_directives` reach the sbatch script, and while the job
 * waits the CLI says why (Slurm's pending reason), in its output and in --json. `runs --json`
 * carries the reasons a live run's tasks wait.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import '../../execution/strategies/slurm/index.ts'
import { ensureSlurm } from '../../execution/strategies/slurm/testing.ts'
import { main } from '../main.ts'
import { captureIo, cliTestHome } from '../testing.ts'

const home = cliTestHome('slurm', () => {
  ensureSlurm()
  writeFileSync(path.join(home.dir, 'site.yaml'), 'slurm:\n  pollIntervalMs: 250\n  maxPollIntervalMs: 500\n')
})

const partition = () =>
  // the cluster's default partition, named as a fasthep-flow user would: `queue`
  readFileSync(process.env.SLURM_CONF!, 'utf8').match(/^PartitionName=(\S+).*Default=YES/m)?.[1] ?? 'debug'

describe('controlroom run on Slurm tells why a job waits', () => {
  it('queue and job_extra_directives reach sbatch; the pending reason is printed while the job waits and kept in --json', async () => {
    const file = path.join(home.dir, 'later.yaml')
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
    const c = captureIo()
    expect(await main(['run', file], c.io), c.err.join('')).toBe(0)
    const text = c.out.join('')
    expect(text).toMatch(/Later\s+waiting: .*BeginTime|Later\s+waiting: waiting for its start time/)
    expect(text).toMatch(/run \S+ succeeded in/)
    const runDir = /logs and results: (\S+)/.exec(text)![1]!
    const scripts = readdirSync(path.join(runDir, 'slurm')).filter((f) => f.endsWith('.sh'))
    const script = readFileSync(path.join(runDir, 'slurm', scripts[0]!), 'utf8')
    expect(script).toContain('#SBATCH --begin=now+4\n')
    expect(script).toContain(`#SBATCH --partition=${partition()}\n`)

    home.reuse()
    const j = captureIo()
    expect(await main(['run', file, '--json'], j.io)).toBe(0)
    const res = JSON.parse(j.out.join(''))
    expect(res.waits).toEqual([
      { task: expect.any(String), stage: 'Later', reason: expect.stringMatching(/start time|BeginTime/) },
    ])
  }, 180_000)

  it('runs --json carries the reasons the tasks of a live run wait', async () => {
    home.reuse()
    const run = await home.t.db.run.findFirst({ orderBy: { createdAt: 'desc' } })
    const task = await home.t.db.task.findFirst({ where: { runId: run!.id } })
    // the run as it was while its job pended
    await home.t.db.run.update({ where: { id: run!.id }, data: { state: 'running', finishedAt: null } })
    await home.t.db.task.update({
      where: { id: task!.id },
      data: { state: 'queued', reason: 'BeginTime: waiting for its start time' },
    })
    const j = captureIo()
    expect(await main(['runs', '--json', '--limit', '1'], j.io)).toBe(0)
    const [row] = JSON.parse(j.out.join(''))
    expect(row.waiting).toEqual([{ task: task!.id, stage: 'Later', reason: 'BeginTime: waiting for its start time' }])
  })
})
