/**
 * The `slurm` strategy through the engine's Strategy contract (server/execution/types.ts),
 * against the REAL local Slurm.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExecutionPlan, PlanPool } from '../../workflow/types.ts'
import type { JobRef, JobStatus, StrategyRunContext, TaskLaunch } from '../types.ts'
import { contractPlan } from './contract.ts'
import { createSlurmStrategy } from './slurm.ts'
import { jobNameFor } from './slurm/script.ts'
import { parseDocument } from 'yaml'
import { compileWorkflow } from '../../workflow/index.ts'
import { ensureSlurm, pool, REPO_ROOT, removeTempRunsDirs, tempRunsDir, testSite } from './slurm/testing.ts'

beforeAll(() => {
  ensureSlurm()
})
// a failed assertion must not leave jobs holding the 2 cpus of the test cluster
const runNames: string[] = []
afterAll(async () => {
  const { execFileSync } = await import('node:child_process')
  for (const n of runNames) execFileSync('scancel', ['--name', n], { stdio: 'ignore' })
  removeTempRunsDirs()
})

function planOf(pools: PlanPool[]): ExecutionPlan {
  return contractPlan(pools, {
    hash: 'f'.repeat(64),
    strategy: 'slurm',
    stages: pools.flatMap((p) =>
      p.stages.map((id, index) => ({
        id,
        op: 'shell',
        params: {},
        needs: [],
        inputs: [],
        pool: p.name,
        resources: p.resources,
        routing: { require: p.name, prefer: null, fallback: null, decision: 'require' as const, reason: '' },
        modifiers: [],
        timeoutSeconds: null,
        retries: null,
        index,
      })),
    ),
  })
}

/**
 * The seed's heterogeneous workflow (examples/heterogeneous.yaml), compiled by the real compiler.
 * `fitted`: only its execution block changes (as the design promises) to fit this 2-cpu / 8000 MB
 * test cluster: strategy slurm, smaller memory; the analysis stages are untouched.
 */
function heterogeneousPlan(fitted: boolean): ExecutionPlan {
  const doc = parseDocument(readFileSync(path.join(REPO_ROOT, 'examples/heterogeneous.yaml'), 'utf8'))
  doc.setIn(['execution', 'strategy'], 'slurm')
  if (fitted) {
    doc.setIn(['execution', 'pools', 'default', 'workers'], 2)
    doc.setIn(['execution', 'pools', 'default', 'resources', 'memory'], '200MB')
    doc.setIn(['execution', 'pools', 'high_memory', 'resources', 'cpus'], 2)
    doc.setIn(['execution', 'pools', 'high_memory', 'resources', 'memory'], '4GB')
    doc.setIn(['execution', 'pools', 'gpu', 'resources', 'memory'], '1GB')
  }
  const r = compileWorkflow(doc.toString(), { fileName: 'heterogeneous.yaml' })
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
  return r.plan!
}
const heterogeneous = () => heterogeneousPlan(true)

function session(label: string, plan: ExecutionPlan) {
  const runs = tempRunsDir(label)
  // the site maps the portable pool name high_memory onto this cluster's partition
  const site = testSite(runs, { pools: { high_memory: { partition: 'highmem' } } })
  const runId = `${label}-${Date.now().toString(36)}`
  for (const p of plan.pools) runNames.push(jobNameFor('cr', runId, p.name))
  const runDir = path.join(runs, runId)
  mkdirSync(runDir, { recursive: true })
  const pushed: JobStatus[] = []
  const logs: string[] = []
  const strategy = createSlurmStrategy({ site, pollIntervalMs: 200, maxPollIntervalMs: 1000 })
  const ctx: StrategyRunContext = {
    runId,
    runDir,
    plan,
    site,
    onStatus: (s) => pushed.push(s),
    log: (l, m) => logs.push(`${l}: ${m}`),
  }
  const launch = (
    taskId: string,
    stageId: string,
    poolName: string,
    argv: string[],
    timeoutSeconds: number | null = null,
  ): TaskLaunch => {
    const taskDir = path.join(runDir, 'tasks', taskId)
    mkdirSync(taskDir, { recursive: true })
    return {
      runId,
      taskId,
      attempt: 0,
      stageId,
      pool: poolName,
      taskDir,
      specPath: path.join(taskDir, 'spec.json'),
      argv,
      env: { CONTROLROOM_TASK: taskId },
      timeoutSeconds,
    }
  }
  return { strategy, ctx, pushed, logs, launch, site, runDir, runId }
}

async function pollUntil(
  s: { poll(j: JobRef[]): Promise<JobStatus[]> },
  refs: JobRef[],
  done: (st: JobStatus[]) => boolean,
  ms = 25_000,
) {
  const t0 = Date.now()
  for (;;) {
    const st = await s.poll(refs)
    if (done(st)) return st
    if (Date.now() - t0 > ms)
      throw new Error(`timeout; last: ${JSON.stringify(st.map((x) => [x.ref.jobId, x.raw, x.reason]))}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

describe('slurm strategy (engine contract) on the real local Slurm', () => {
  it('declares a job model with arrays', () => {
    const s = createSlurmStrategy({ site: testSite('/tmp') })
    expect([s.name, s.workerModel, s.workerKind, s.supportsArrays]).toEqual(['slurm', 'job', 'slurm', true])
  })

  it('previews the job script of every pool of the heterogeneous workflow before dispatch', async () => {
    const plan = heterogeneous()
    const { strategy, runDir } = session('preview', plan)
    const texts = Object.fromEntries(
      await Promise.all(plan.pools.map(async (p) => [p.name, await strategy.render(p, plan, { runDir })] as const)),
    )
    expect(texts.gpu!.kind).toBe('slurm-script')
    expect(texts.gpu!.text).toContain('#SBATCH --gres=gpu:1\n')
    expect(texts.high_memory!.text).toContain('#SBATCH --partition=highmem\n')
    expect(texts.high_memory!.text).toContain('#SBATCH --mem=4096M\n')
    expect(texts.default!.text).toMatch(/exec \S+node\S* \S+runner\.mjs --spec \S+\/tasks\/ProducePlots\/spec\.json\n/)
    for (const t of Object.values(texts)) expect(t.problems).toEqual([])
  })

  it('preflight accepts the fitted heterogeneous pools, refuses the 64GB/16GB originals and gres gpu:2 with the reason', async () => {
    const ok = heterogeneous()
    const { strategy } = session('preflight', ok)
    expect(await strategy.preflight(ok)).toEqual([])
    const original = await strategy.preflight(heterogeneousPlan(false))
    expect(original.map((p) => [p.pool, p.code])).toEqual([
      ['high_memory', 'slurm-impossible-request'],
      ['gpu', 'slurm-impossible-request'],
    ])
    expect(original[0]!.message).toContain(
      'no node in partition highmem can run pool high_memory (4 cpus, 65536 MB): localhost: lacks 4 cpus (has 2), 65536 MB memory (has 8000 MB)',
    )
    expect(original[1]!.message).toContain('16384 MB memory (has 8000 MB)')
    const bad = planOf([
      pool('gpu', { gpus: 2, stages: ['Train'] }),
      pool('nowhere', { config: { partition: 'gpu-a100' }, stages: ['X'] }),
    ])
    const problems = await strategy.preflight(bad)
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'slurm-impossible-request',
        severity: 'error',
        pool: 'gpu',
        message: expect.stringContaining('2 GPU(s) (has 1)'),
      }),
      expect.objectContaining({ code: 'slurm-invalid-partition', pool: 'nowhere', hint: 'partitions: debug, highmem' }),
    ])
  })

  it('runs the heterogeneous stages as jobs: gpu job gets a GPU, high_memory job its partition; statuses pushed and polled', async () => {
    const plan = heterogeneous()
    const { strategy, ctx, pushed, launch, runDir } = session('hetero', plan)
    const sess = await strategy.open(ctx)
    const show =
      'echo "part=$SLURM_JOB_PARTITION gpus=${CUDA_VISIBLE_DEVICES:-none} cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE task=$CONTROLROOM_TASK"'
    const results = [
      ...(await sess.submit([
        launch('BuildIndex', 'BuildIndex', 'high_memory', ['sh', '-c', `${show} > ${runDir}/BuildIndex.txt`]),
      ])),
      ...(await sess.submit([
        launch('TrainModel', 'TrainModel', 'gpu', ['sh', '-c', `${show} > ${runDir}/TrainModel.txt`]),
      ])),
    ]
    expect(results.every((r) => r.ok)).toBe(true)
    const refs = results.map((r) => (r.ok ? r.ref : null)!)
    expect(refs[0]!.jobId).toMatch(/^\d+$/)
    const final = await pollUntil(sess, refs, (st) => st.length === 2 && st.every((s) => s.final))
    expect(final.map((s) => [s.ref.taskId, s.task, s.raw, s.exitCode])).toEqual([
      ['BuildIndex', 'succeeded', 'COMPLETED', 0],
      ['TrainModel', 'succeeded', 'COMPLETED', 0],
    ])
    expect(readFileSync(`${runDir}/BuildIndex.txt`, 'utf8')).toBe(
      'part=highmem gpus=none cpus=2 mem=4096 task=BuildIndex\n',
    )
    expect(readFileSync(`${runDir}/TrainModel.txt`, 'utf8')).toBe('part=debug gpus=0 cpus=1 mem=1024 task=TrainModel\n')
    // pushed statuses walk requested -> ... -> gone
    const trail = pushed.filter((s) => s.ref.taskId === 'TrainModel').map((s) => s.worker)
    expect(trail[0]).toBe('requested')
    expect(trail.at(-1)).toBe('gone')
    // the submitted script is kept and referenced from the ref
    expect(readFileSync(String(refs[1]!.data!.scriptPath), 'utf8')).toContain('#SBATCH --gres=gpu:1')
    await sess.close()
  })

  it('a group of partitions becomes one job array; a failing element decodes exit 3; cancel stops a running one', async () => {
    const plan = planOf([pool('default', { workers: 2, stages: ['Select'] })])
    const { strategy, ctx, launch } = session('group', plan)
    const sess = await strategy.open(ctx)
    const group = [
      launch('Select.0', 'Select', 'default', ['true']),
      launch('Select.1', 'Select', 'default', ['sh', '-c', 'exit 3']),
      launch('Select.2', 'Select', 'default', ['sleep', '30']),
    ]
    const res = await sess.submit(group)
    const refs = res.map((r) => (r.ok ? r.ref : null)!)
    const arrayId = refs[0]!.jobId.split('_')[0]
    expect(refs.map((r) => r.jobId)).toEqual([`${arrayId}_0`, `${arrayId}_1`, `${arrayId}_2`])
    await pollUntil(sess, refs, (st) => st.find((s) => s.ref.taskId === 'Select.2')?.raw === 'RUNNING')
    await sess.cancel([refs[2]!])
    const st = await pollUntil(sess, refs, (s) => s.length === 3 && s.every((x) => x.final))
    expect(st.map((s) => [s.task, s.exitCode])).toEqual([
      ['succeeded', 0],
      ['failed', 3],
      ['cancelled', null],
    ])
    expect(st[2]!.signal).toBe('SIGTERM')
    await sess.close()
  })

  it('an unknown partition at submission is refused at the pool with the partitions listed', async () => {
    const plan = planOf([pool('odd', { config: { partition: 'nosuch' }, stages: ['S'] })])
    const { site, ctx, launch, logs } = session('reject', plan)
    const strategy = createSlurmStrategy({ site: { ...site, slurm: { ...site.slurm, preflight: false } } })
    const sess = await strategy.open(ctx)
    const [r] = await sess.submit([launch('S', 'S', 'odd', ['true'])])
    expect(r).toMatchObject({
      ok: false,
      taskId: 'S',
      problem: { code: 'slurm-invalid-partition', pool: 'odd', hint: 'partitions: debug, highmem' },
    })
    expect(logs.join('\n')).toContain('partition "nosuch" does not exist')
  })

  it('a job pending for a reason waiting cannot fix is reported hopeless with the reason (and cancelled in Slurm)', async () => {
    const plan = planOf([pool('wide', { cpus: 8, stages: ['W'] })])
    const { site, ctx, launch, pushed } = session('hopeless', plan)
    const strategy = createSlurmStrategy({
      site: { ...site, slurm: { ...site.slurm, preflight: false } },
      pollIntervalMs: 200,
    })
    const sess = await strategy.open(ctx)
    const [r] = await sess.submit([launch('W', 'W', 'wide', ['true'])])
    expect(r!.ok).toBe(true)
    const ref = r!.ok ? r!.ref : null!
    const st = await pollUntil(sess, [ref], (s) => s[0]?.hopeless === true)
    expect(st[0]).toMatchObject({ hopeless: true, final: false, task: 'queued', raw: 'PENDING' })
    expect(st[0]!.reason).toMatch(/^PartitionConfig: the request exceeds what the partition allows/)
    expect(pushed.some((p) => p.hopeless)).toBe(true)
    const { execFileSync } = await import('node:child_process')
    const t0 = Date.now()
    let state = ''
    while (Date.now() - t0 < 5000) {
      state = execFileSync('scontrol', ['show', 'job', '-o', ref.jobId]).toString()
      if (/JobState=CANCELLED/.test(state)) break
      await new Promise((res) => setTimeout(res, 100))
    }
    expect(state).toMatch(/JobState=CANCELLED/)
    await sess.close()
  })

  it('re-attaches in a new session (server restart) by the stored refs, without resubmitting', async () => {
    const plan = planOf([pool('default', { workers: 2, stages: ['A', 'B'] })])
    const s1 = session('restart', plan)
    const sess1 = await s1.strategy.open(s1.ctx)
    const res = await sess1.submit([s1.launch('A', 'A', 'default', ['sleep', '1.5'])])
    const res2 = await sess1.submit([s1.launch('B', 'B', 'default', ['sh', '-c', 'exit 5'])])
    const stored: JobRef[] = JSON.parse(JSON.stringify([res[0], res2[0]].map((r) => (r!.ok ? r!.ref : null))))
    await sess1.close()
    const strategy2 = createSlurmStrategy({ site: s1.site, pollIntervalMs: 200 })
    const pushed: JobStatus[] = []
    const sess2 = await strategy2.open({ ...s1.ctx, onStatus: (s) => pushed.push(s) })
    const now = await sess2.reattach([...stored, { taskId: 'Z', attempt: 0, pool: 'default', jobId: '999999' }])
    expect(now.find((s) => s.ref.taskId === 'A')?.worker).toMatch(/running|pending-in-queue|gone/)
    const st = await pollUntil(
      sess2,
      [...stored, { taskId: 'Z', attempt: 0, pool: 'default', jobId: '999999' }],
      (s) => s.length === 3 && s.every((x) => x.final),
    )
    expect(st.map((s) => [s.ref.taskId, s.task, s.exitCode])).toEqual([
      ['A', 'succeeded', 0],
      ['B', 'failed', 5],
      ['Z', 'lost', null],
    ])
    expect(sess2.pollIntervalMs()).toBeGreaterThanOrEqual(200)
    await sess2.close()
  })

  it('mapState maps Slurm states and pending reasons', () => {
    const s = createSlurmStrategy({ site: testSite('/tmp') })
    expect(s.mapState({ state: 'PENDING', reason: 'Resources' })).toMatchObject({
      worker: 'pending-in-queue',
      task: 'queued',
      hopeless: false,
    })
    expect(s.mapState({ state: 'PENDING', reason: 'BadConstraints' })).toMatchObject({ hopeless: true })
    expect(s.mapState({ state: 'FAILED', exitCode: null, signal: 'SIGKILL' }).reason).toContain('SIGKILL')
    expect(s.mapState({ state: 'NODE_FAIL' })).toMatchObject({ task: 'lost', worker: 'gone', final: true })
  })
})
