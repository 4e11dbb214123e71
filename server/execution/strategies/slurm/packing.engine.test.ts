/**
 * Several tasks per Slurm job (tasks_per_job), through the run engine on the REAL local Slurm:
 * a hep.hist stage in 64 partitions runs in a few jobs with histograms byte-identical to the
 * 1-partition run; a task that fails inside a packed job fails alone and is retried; cancel of one
 * task of a packed job stops that task only.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hepTestDataDir } from '../../../hep/testdata.ts'
import { RunEngine } from '../../engine.ts'
import { reconcileRuns } from '../../reconcile.ts'
import { startRun } from '../../runs.ts'
import type { EngineTestEnv } from '../../testing.ts'
import './index.ts' // registers strategy `slurm`
import { setupSlurmEngineTest } from './testing.ts'

const ZMUMU = path.join(hepTestDataDir(), 'uproot-Zmumu.root')

function hepYaml(name: string, chunk: number | null, pool: string): string {
  return `version: 1
name: ${name}
execution:
  strategy: slurm
  config:
${chunk ? `    chunk_size: ${chunk}\n` : '    workers: 2\n'}  pools:
    default: { workers: 2, resources: { cpus: 1, memory: 300MB }${pool} }
data:
  datasets:
    - { name: zmumu, files: [${ZMUMU}], treeName: events }
analysis:
  stages:
    - id: hist
      op: hep.hist
      params:
        histograms:
          - { name: dimuon_mass, expr: 'sqrt((E1 + E2) ** 2 - (px1 + px2) ** 2 - (py1 + py2) ** 2 - (pz1 + pz2) ** 2)', bins: { n: 60, low: 60, high: 120 } }
          - { name: muon_pt, expr: 'max(pt1, pt2)', bins: { n: 50, low: 0, high: 200 } }
`
}

/** a command stage with one task per (fake) file: CONTROLROOM_PARTITION_INDEX tells them apart */
function filesYaml(name: string, n: number, command: string, extra = ''): string {
  const files = Array.from({ length: n }, (_, i) => `/data/f${i}.txt`).join(', ')
  return `version: 1
name: ${name}
execution:
  strategy: slurm
  pools:
    default: { workers: 1, resources: { cpus: 2, memory: 200MB }, config: { tasks_per_job: ${n} } }
data:
  datasets:
    - { name: files, files: [${files}] }
analysis:
  stages:
    - id: each
      op: custom.each
      params: { partition: file, dataset: files }
${extra}registry:
  ops:
    custom.each:
      command: ["sh", "-c", ${JSON.stringify(command)}]
`
}

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('packed Slurm jobs (tasks_per_job) on the real local Slurm', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    env = await setupSlurmEngineTest(200)
  })
  afterAll(async () => {
    await env?.cleanup()
  })

  async function run(yaml: string, ms = 180_000) {
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    const state = await env.waitFor(runId, ms)
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    const runDir = path.join(env.home, 'runs', runId)
    return { runId, state, tasks, runDir }
  }

  it('a 64-partition hep.hist stage runs in a few jobs, histograms byte-identical to 1 partition', async () => {
    const one = await run(hepYaml('zmumu-one', null, ', config: { tasks_per_job: 1 }'))
    expect(one.state).toBe('succeeded')
    // 2304 events in chunks of 36: 64 partitions; the default packs 16 per job for hep.* pools
    const many = await run(hepYaml('zmumu-64', 36, ''))
    const hist = many.tasks.filter((t) => t.stageId === 'hist')
    expect(many.state, JSON.stringify(hist.map((t) => [t.state, t.reason]))).toBe('succeeded')
    expect(hist).toHaveLength(64)
    const jobs = new Set(hist.map((t) => t.batchJobId))
    expect(jobs.size).toBeLessThanOrEqual(8)
    expect(jobs.size).toBeGreaterThanOrEqual(4)
    // each task kept its own files (packed job or not): the runtime's started.json and result.json
    for (const t of hist) {
      const r = JSON.parse(readFileSync(path.join(many.runDir, 'tasks', t.id, 'result.json'), 'utf8'))
      expect(r).toMatchObject({ taskId: t.id, exitCode: 0, attempt: 0 })
    }
    // the submitted script ran the packed runtime over 16 task specs
    const job = [...jobs][0]!.split('_')[0]!
    const script = execFileSync('scontrol', ['write', 'batch_script', job, '-']).toString()
    expect(script).toMatch(/pack\.mjs --parallel 1( --spec \S+spec\.json){16} ;;/)
    for (const name of ['dimuon_mass', 'muon_pt'])
      expect(readFileSync(path.join(many.runDir, 'hep', 'hist', 'zmumu', `${name}.json`), 'utf8')).toBe(
        readFileSync(path.join(one.runDir, 'hep', 'hist', 'zmumu', `${name}.json`), 'utf8'),
      )
  }, 400_000)

  it('a task failing inside a packed job fails alone and is retried; the others succeed once', async () => {
    const cmd =
      'if [ "$CONTROLROOM_PARTITION_INDEX" = 2 ] && [ "$CONTROLROOM_ATTEMPT" = 0 ]; then echo bad input >&2; exit 7; fi; echo "ok $CONTROLROOM_PARTITION_INDEX"'
    const r = await run(filesYaml('pack-fail', 6, cmd, '      execution: { retries: 1 }\n'))
    expect(r.state, JSON.stringify(r.tasks.map((t) => [t.partitionKey, t.state, t.reason]))).toBe('succeeded')
    const byPart = new Map(r.tasks.map((t) => [t.partitionKey, t]))
    const bad = byPart.get('/data/f2.txt')!
    expect(bad).toMatchObject({ state: 'succeeded', attempt: 1 })
    for (const [k, t] of byPart) if (k !== '/data/f2.txt') expect(t.attempt).toBe(0)
    // attempt 0 ran in the job of all six; the retry in a job of its own
    const failedEv = await env.t.db.event.findMany({ where: { runId: r.runId, taskId: bad.id, type: 'task.state' } })
    const failed = failedEv.map((e) => JSON.parse(e.payload as string)).find((p) => p.to === 'failed')
    expect(failed).toMatchObject({ attempt: 0, exitCode: 7 })
    const submitted = await env.t.db.event.findMany({ where: { runId: r.runId, type: 'task.submitted' } })
    const firstJob = new Set(
      submitted
        .map((e) => JSON.parse(e.payload as string))
        .filter((p) => p.attempt === 0)
        .map((p) => p.jobRef.jobId),
    )
    expect(firstJob.size).toBe(1)
    expect(readFileSync(path.join(r.runDir, 'tasks', bad.id, 'stderr.log'), 'utf8')).toContain('bad input')
    expect(readFileSync(path.join(r.runDir, 'tasks', bad.id, 'stdout.log'), 'utf8')).toContain('ok 2')
  }, 120_000)

  it('cancel of one task of a packed job stops that task only', async () => {
    // partition 0 sleeps; the others wait for its cancel marker before they finish, so the job is
    // still running them when the cancel arrives
    const cmd =
      'if [ "$CONTROLROOM_PARTITION_INDEX" = 0 ]; then exec sleep 60; fi; sleep 2; echo "done $CONTROLROOM_PARTITION_INDEX"'
    const { runId } = await startRun({ versionId: await env.save(filesYaml('pack-cancel', 3, cmd)) }, env.engine)
    let sleeper: { id: string; state: string } | null = null
    for (const t0 = Date.now(); Date.now() - t0 < 60_000; await sleepMs(200)) {
      sleeper = await env.t.db.task.findFirst({ where: { runId, partitionKey: '/data/f0.txt' } })
      if (sleeper?.state === 'running') break
    }
    expect(sleeper?.state).toBe('running')
    await env.engine.cancelTask(runId, sleeper!.id)
    const state = await env.waitFor(runId, 60_000)
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    expect(state).toBe('cancelled')
    const byPart = Object.fromEntries(tasks.map((t) => [t.partitionKey, t]))
    expect(byPart['/data/f0.txt']).toMatchObject({ state: 'cancelled' })
    expect(byPart['/data/f1.txt']).toMatchObject({ state: 'succeeded' })
    expect(byPart['/data/f2.txt']).toMatchObject({ state: 'succeeded' })
    expect(new Set(tasks.map((t) => t.batchJobId)).size).toBe(1)
  }, 120_000)

  it('a server restart mid-job re-attaches to the packed job: every task ends once, none resubmitted', async () => {
    const cmd = 'sleep 1; echo "ran $CONTROLROOM_PARTITION_INDEX" >> "$CONTROLROOM_RUN_DIR/ran.txt"'
    const { runId } = await startRun({ versionId: await env.save(filesYaml('pack-restart', 4, cmd)) }, env.engine)
    const runDir = path.join(env.home, 'runs', runId)
    for (const t0 = Date.now(); Date.now() - t0 < 60_000; await sleepMs(100)) {
      const running = await env.t.db.task.count({ where: { runId, state: 'running' } })
      if (running > 0) break
    }
    // the server "dies" while the job runs its tasks; the job goes on
    await env.engine.shutdown({ detach: true })
    const engine2 = new RunEngine({ db: env.t.db, url: env.t.url })
    env.engine = engine2
    expect((await reconcileRuns({ engine: engine2 })).adopted).toContain(runId)
    const final = await Promise.race([engine2.waitForRun(runId), sleepMs(60_000).then(() => 'timeout')])
    expect(final).toBe('succeeded')
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    expect(tasks.map((t) => [t.state, t.attempt])).toEqual(tasks.map(() => ['succeeded', 0]))
    expect(readFileSync(path.join(runDir, 'ran.txt'), 'utf8').trim().split('\n').sort()).toEqual([
      'ran 0',
      'ran 1',
      'ran 2',
      'ran 3',
    ])
    expect(await env.t.db.event.count({ where: { runId, type: 'task.submitted' } })).toBe(4)
    expect(new Set(tasks.map((t) => t.batchJobId)).size).toBe(1)
  }, 120_000)
})
