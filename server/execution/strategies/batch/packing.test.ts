/**
 * Packing several tasks per batch job: where tasks_per_job comes from (workflow, site, default),
 * what a bad value says, the Submission preview of a packing pool, and the state of one task of a
 * packed job read from its files (the real runtime's files: runtime/pack.mjs is run here).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { compileWorkflow } from '../../../workflow/index.ts'
import type { ExecutionPlan } from '../../../workflow/types.ts'
import { runtimeScript } from '../../paths.ts'
import type { JobRef, JobStatus } from '../../types.ts'
import { createSlurmStrategy } from '../slurm.ts'
import { pool, testSite } from '../slurm/testing.ts'
import { packArgv, packedTaskStatus, packedTimeLimit, packingFor, packRuntimeArgv } from './packing.ts'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function plan(pools: string, stages: string): ExecutionPlan {
  const r = compileWorkflow(
    `version: 1\nname: pack\nexecution:\n  strategy: slurm\n  pools:\n${pools}\nanalysis:\n  stages:\n${stages}registry:\n  ops:\n    custom.x: { command: [sh, -c, 'true'] }\n`,
    { fileName: 'pack.yaml' },
  )
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
  return r.plan!
}

describe('tasks_per_job', () => {
  const hepStages = [{ id: 'h', op: 'hep.hist', pool: 'default' }] as ExecutionPlan['stages']
  const cmdStages = [{ id: 'c', op: 'custom.x', pool: 'default' }] as ExecutionPlan['stages']
  it('the workflow wins over the site pool, which wins over the site; hep.* pools pack 16 by default', () => {
    const p = pool('default', { cpus: 2, config: { tasks_per_job: 8 } })
    const site = { tasksPerJob: 4, pools: { default: { tasks_per_job: 6 } } }
    expect(packingFor(p, { stages: cmdStages }, site, 'slurm')).toMatchObject({
      tasksPerJob: 8,
      parallel: 2,
      source: 'execution.pools.default.config.tasks_per_job',
    })
    expect(packingFor(pool('default'), { stages: cmdStages }, site, 'slurm')).toMatchObject({
      tasksPerJob: 6,
      source: 'site slurm.pools.default.tasks_per_job',
    })
    expect(packingFor(pool('default'), { stages: cmdStages }, { tasksPerJob: 4 }, 'slurm').tasksPerJob).toBe(4)
    expect(packingFor(pool('default'), { stages: hepStages }, {}, 'slurm')).toMatchObject({
      tasksPerJob: 16,
      source: 'default for hep.* pools',
    })
    expect(packingFor(pool('default'), { stages: cmdStages }, {}, 'slurm').tasksPerJob).toBe(1)
  })

  it('a bad value is named with its key and the allowed range; the next source is used', () => {
    const p = packingFor(pool('default', { config: { tasks_per_job: 0 } }), { stages: cmdStages }, {}, 'slurm')
    expect(p.tasksPerJob).toBe(1)
    expect(p.problem).toBe(
      'execution.pools.default.config.tasks_per_job is 0: give a whole number of tasks from 1 to 256 (1 = a job per task)',
    )
    expect(
      packingFor(pool('default', { config: { tasks_per_job: '12' } }), { stages: cmdStages }, {}, 'slurm').tasksPerJob,
    ).toBe(12)
  })

  it('a packed job runs the packed runtime beside runner.mjs; its time limit counts its rounds', () => {
    expect(packRuntimeArgv(['/usr/bin/node', '/app/runtime/runner.mjs', '--spec', '/r/spec.json'])).toEqual([
      '/usr/bin/node',
      '/app/runtime/pack.mjs',
    ])
    // a site taskCommand that is not runner.mjs cannot pack
    expect(packRuntimeArgv(['controlroom', 'task', '--spec', '/r/spec.json'])).toBeNull()
    expect(packArgv(['node', 'pack.mjs'], 4, ['/a', '/b'])).toEqual([
      'node',
      'pack.mjs',
      '--parallel',
      '2',
      '--spec',
      '/a',
      '--spec',
      '/b',
    ])
    // 5 tasks of 100 s, 2 at a time: 3 rounds = 300 s + 60 s margin; no timeout: no bound
    expect(
      packedTimeLimit(
        [100, 100, 50, 100, 10].map((t) => ({ timeoutSeconds: t })),
        2,
      ),
    ).toBe(360)
    expect(packedTimeLimit([{ timeoutSeconds: 100 }, { timeoutSeconds: null }], 2)).toBeNull()
  })

  it('the Submission preview shows the packed runtime, how many tasks a job carries and from where', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'cr-pack-'))
    dirs.push(runs)
    const strategy = createSlurmStrategy({ site: testSite(runs) })
    const packing = plan(
      '    default: { workers: 2, resources: { cpus: 2 }, config: { tasks_per_job: 32 } }',
      '    - { id: each, op: custom.x }\n',
    )
    const r = await strategy.render(packing.pools[0]!, packing, { runDir: path.join(runs, 'R1') })
    expect(r.text).toContain(
      '# packed: up to 32 tasks per job (execution.pools.default.config.tasks_per_job), 2 at a time (pool cpus)',
    )
    expect(r.text).toMatch(/exec \S+ \S+\/runtime\/pack\.mjs --parallel 2 --spec \S+\/tasks\/each\/spec\.json --spec /)
    expect(r.problems).toEqual([])
    const plain = plan('    default: { workers: 2 }', '    - { id: each, op: custom.x }\n')
    const p = await strategy.render(plain.pools[0]!, plain, { runDir: path.join(runs, 'R2') })
    expect(p.text).not.toContain('packed')
    expect(p.text).toMatch(/exec \S+ \S+\/runtime\/runner\.mjs --spec/)
    const bad = plan('    default: { config: { tasks_per_job: 1000 } }', '    - { id: each, op: custom.x }\n')
    const b = await strategy.render(bad.pools[0]!, bad, { runDir: path.join(runs, 'R3') })
    expect(b.problems).toEqual([
      expect.objectContaining({ code: 'slurm-invalid-tasks-per-job', severity: 'error', pool: 'default' }),
    ])
    const offline = createSlurmStrategy({
      site: { ...testSite(runs), slurm: { ...testSite(runs).slurm, preflight: false } },
    })
    expect(await offline.preflight(bad)).toEqual([
      expect.objectContaining({
        code: 'slurm-invalid-tasks-per-job',
        message: expect.stringContaining('tasks_per_job is 1000'),
      }),
    ])
  })
})

describe('a task of a packed job, from its files', () => {
  /** three real tasks run by runtime/pack.mjs: ok, exit 3, and one cancelled before it started */
  function runPack() {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'cr-packrun-'))
    dirs.push(runDir)
    const specs = ['ok', 'bad', 'never'].map((id, i) => {
      const taskDir = path.join(runDir, 'tasks', id)
      mkdirSync(taskDir, { recursive: true })
      const spec = {
        version: 1,
        runId: 'R',
        taskId: id,
        stageId: 's',
        pool: 'default',
        attempt: 0,
        op: 'custom.x',
        argv: ['sh', '-c', i === 1 ? 'echo broken >&2; exit 3' : 'echo fine'],
        env: {},
        cwd: taskDir,
        taskDir,
        runDir,
        stdoutPath: path.join(taskDir, 'stdout.log'),
        stderrPath: path.join(taskDir, 'stderr.log'),
        resultPath: path.join(taskDir, 'result.json'),
        timeoutSeconds: null,
        collect: { profile: false, diagnostics: false, rssSampleMs: 0 },
        outputsPath: path.join(taskDir, 'outputs.json'),
        modifiers: [],
        metadata: {},
      }
      writeFileSync(path.join(taskDir, 'spec.json'), JSON.stringify(spec))
      return { id, taskDir, spec: path.join(taskDir, 'spec.json') }
    })
    writeFileSync(path.join(specs[2]!.taskDir, 'cancel.0'), 'now\n')
    const argv = packArgv(
      packRuntimeArgv([process.execPath, runtimeScript()])!,
      1,
      specs.map((s) => s.spec),
    )
    let code = 0
    try {
      execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe' })
    } catch (e) {
      code = (e as { status: number }).status
    }
    return { specs, code }
  }

  const ref = (taskId: string, taskDir: string, index: number): JobRef => ({
    taskId,
    attempt: 0,
    pool: 'default',
    jobId: '77',
    data: { packed: { job: '77', index, of: 3, taskDir } },
  })
  const job = (over: Partial<JobStatus>): JobStatus => ({
    ref: { taskId: 'x', attempt: 0, pool: 'default', jobId: '77' },
    worker: 'running',
    task: 'running',
    final: false,
    reason: null,
    hopeless: false,
    raw: 'RUNNING',
    exitCode: null,
    signal: null,
    host: 'localhost',
    ...over,
  })

  it('each task reports its own outcome; the job exits 1 because one failed', () => {
    const { specs, code } = runPack()
    expect(code).toBe(1)
    const [ok, bad, never] = specs.map((s, i) => packedTaskStatus(ref(s.id, s.taskDir, i), job({})))
    expect(ok).toMatchObject({ task: 'succeeded', final: true, exitCode: 0 })
    expect(bad).toMatchObject({
      task: 'failed',
      final: true,
      exitCode: 3,
      reason: 'ended in packed job 77 (task 2 of 3)',
    })
    expect(readFileSync(path.join(specs[1]!.taskDir, 'stderr.log'), 'utf8')).toBe('broken\n')
    // cancelled by its file before its turn: it never ran
    expect(never).toMatchObject({ task: 'cancelled', final: true })
    expect(existsSync(path.join(specs[2]!.taskDir, 'stdout.log'))).toBe(false)
  })

  it('waiting, running, and a job that ended without running a task (lost, retried) or cancelled', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cr-packstate-'))
    dirs.push(dir)
    const r = ref('t', dir, 1)
    expect(packedTaskStatus(r, job({ task: 'queued', worker: 'pending-in-queue', reason: 'Priority' }))).toMatchObject({
      task: 'queued',
      worker: 'pending-in-queue',
      reason: 'Priority',
    })
    expect(packedTaskStatus(r, job({}))).toMatchObject({
      task: 'queued',
      worker: 'running',
      reason: 'waiting its turn in packed job 77 (task 2 of 3)',
    })
    writeFileSync(path.join(dir, 'started.json'), JSON.stringify({ taskId: 't', attempt: 0, host: 'n1', at: 'T' }))
    expect(packedTaskStatus(r, job({}))).toMatchObject({ task: 'running', host: 'n1', startedAt: 'T' })
    expect(
      packedTaskStatus(r, job({ task: 'failed', final: true, raw: 'TIMEOUT', reason: 'time limit' })),
    ).toMatchObject({
      task: 'lost',
      final: true,
      reason: 'packed job 77 (task 2 of 3) ended (TIMEOUT: time limit) while it ran, without its result',
    })
    rmSync(path.join(dir, 'started.json'))
    expect(packedTaskStatus(r, job({ task: 'cancelled', final: true, raw: 'CANCELLED' }))).toMatchObject({
      task: 'cancelled',
    })
  })
})
