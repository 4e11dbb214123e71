/**
 * Slurm bench, on the real local Slurm (scripts/services/slurm.sh: 1 node, 2 cpus):
 *  - time from dispatch (our submit call) to the first job seen running, vs the floor of a plain
 *    `sbatch` + tight `squeue` loop;
 *  - throughput for N short tasks (default 200, SLURM_BENCH_TASKS to change) as N jobs and as ONE
 *    job array through the slurm strategy's job layer, against a plain `sbatch` loop, each until
 *    every job has finished.
 *  - several tasks per job (tasks_per_job): a hep.hist stage in 64 partitions through the run
 *    engine as 64 jobs and packed (16 per job), beside a plain `sbatch` loop of the same 64 task
 *    specs (benchSlurmPacking).
 *   npx tsx bench/slurm.bench.ts      (or through `npm run bench`, which calls benchSlurm())
 */
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { runtimeScript } from '../server/execution/paths.ts'
import { startRun } from '../server/execution/runs.ts'
import '../server/execution/strategies/slurm/index.ts'
import type { SlurmJobs, SlurmJobUpdate } from '../server/execution/strategies/slurm/jobs.ts'
import {
  ensureSlurm,
  pool,
  removeTempRunsDirs,
  setupSlurmEngineTest,
  testJobs,
} from '../server/execution/strategies/slurm/testing.ts'
import { loadAverage, median } from './lib/stats.ts'
import { runIfMain, zmumuMuonPtSections } from './lib/workloads.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const POLL_MS = 200

function squeueActive(ids?: string[]): number {
  const args = ['-h', '-t', 'PD,R,CG,CF,S', '-o', '%i']
  const out = execFileSync('squeue', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
  const lines = out.split('\n').filter(Boolean)
  if (!ids) return lines.length
  const want = new Set(ids)
  return lines.filter((l) => want.has(l.split('_')[0]!)).length
}

async function idle(settleMs = 0) {
  const t0 = Date.now()
  while (squeueActive() > 0) {
    if (Date.now() - t0 > 120_000) throw new Error('Slurm did not become idle')
    await sleep(200)
  }
  // a node that just finished a job starts the next one later (cleanup): let it settle
  if (settleMs) await sleep(settleMs)
}

const makeJobs = (label: string) => testJobs(`bench-${label}`, { pollIntervalMs: POLL_MS, maxPollIntervalMs: 1000 })

async function untilAll(jobs: SlurmJobs, updates: SlurmJobUpdate[], n: number, timeoutMs: number) {
  const t0 = Date.now()
  for (;;) {
    await jobs.poll()
    if (updates.filter((u) => u.final).length >= n) return
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out with ${updates.filter((u) => u.final).length}/${n} finished`)
    await sleep(jobs.currentInterval)
  }
}

/**
 * dispatch -> first running, through SlurmJobs (submit, then status polls every POLL_MS). A tight
 * 20 ms `squeue -j` loop on the same job runs alongside, to tell Slurm's start latency (varies
 * 0.25-1 s here with the scheduler cycle) from our detection delay.
 */
async function firstRunningOurs(): Promise<{ total: number; submit: number; slurm: number }> {
  await idle(1000)
  const { jobs, updates } = makeJobs('first')
  const t0 = performance.now()
  const r = await jobs.submit({
    pool: pool('default', { memory: 50 * 1024 ** 2 }),
    tasks: [{ taskId: 't', argv: ['sleep', '1'] }],
  })
  if (!r.ok) throw new Error(r.problem.message)
  const submit = performance.now() - t0
  let slurm = 0
  const tight = (async () => {
    for (;;) {
      const st = execFileSync('squeue', ['-h', '-j', r.jobId, '-o', '%T'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
      if (st !== 'PENDING') return (slurm = performance.now() - t0)
      await sleep(20)
    }
  })()
  for (;;) {
    await jobs.poll()
    if (updates.some((u) => u.worker === 'running' || u.final)) break
    await sleep(POLL_MS)
  }
  const dt = performance.now() - t0
  await tight
  await untilAll(jobs, updates, 1, 30_000)
  return { total: dt, submit, slurm }
}

/** the floor: sbatch --wrap, then squeue every 20 ms for that job */
async function firstRunningPlain(): Promise<number> {
  await idle(1000)
  const t0 = performance.now()
  const id = execFileSync('sbatch', ['--parsable', '--mem=50M', '-o', '/dev/null', '--wrap', 'sleep 1'])
    .toString()
    .trim()
  for (;;) {
    const st = execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
    if (st === 'RUNNING' || st === 'COMPLETED' || st === '') break
    await sleep(20)
  }
  const dt = performance.now() - t0
  while (squeueActive([id]) > 0) await sleep(200)
  return dt
}

async function manyJobs(n: number): Promise<{ ms: number; submitMs: number; squeue: number; polls: number }> {
  await idle()
  const { jobs, updates } = makeJobs('jobs')
  const p = pool('default', { memory: 50 * 1024 ** 2 })
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const r = await jobs.submit({ pool: p, tasks: [{ taskId: `t${i}`, argv: ['true'] }] })
    if (!r.ok) throw new Error(r.problem.message)
  }
  const submitMs = performance.now() - t0
  await untilAll(jobs, updates, n, 600_000)
  return { ms: performance.now() - t0, submitMs, squeue: jobs.client.calls.squeue ?? 0, polls: jobs.stats.polls }
}

async function oneArray(n: number): Promise<{ ms: number; submitMs: number; squeue: number; polls: number }> {
  await idle()
  const { jobs, updates } = makeJobs('array')
  const t0 = performance.now()
  const r = await jobs.submit({
    pool: pool('default', { memory: 50 * 1024 ** 2 }),
    tasks: Array.from({ length: n }, (_, i) => ({ taskId: `t${i}`, argv: ['true'] })),
  })
  if (!r.ok) throw new Error(r.problem.message)
  const submitMs = performance.now() - t0
  await untilAll(jobs, updates, n, 600_000)
  return { ms: performance.now() - t0, submitMs, squeue: jobs.client.calls.squeue ?? 0, polls: jobs.stats.polls }
}

/** a plain bash loop of sbatch, then squeue every POLL_MS until none of them is left */
async function plainLoop(n: number): Promise<{ ms: number; submitMs: number }> {
  await idle()
  const t0 = performance.now()
  const out = execFileSync('bash', [
    '-c',
    `for i in $(seq ${n}); do sbatch --parsable --mem=50M -o /dev/null --wrap true; done`,
  ]).toString()
  const ids = out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(';')[0]!)
  const submitMs = performance.now() - t0
  while (squeueActive(ids) > 0) await sleep(POLL_MS)
  return { ms: performance.now() - t0, submitMs }
}

export async function benchSlurm(): Promise<string[]> {
  ensureSlurm()
  try {
    return await runBench()
  } finally {
    removeTempRunsDirs()
  }
}

async function runBench(): Promise<string[]> {
  const n = Number(process.env.SLURM_BENCH_TASKS || 200)
  const lines: string[] = []
  const ours: number[] = []
  const slurmStart: number[] = []
  const submits: number[] = []
  const plain: number[] = []
  const reps = 5
  for (let i = 0; i < reps; i++) {
    // alternate the order: the scheduler cycle favours neither
    if (i % 2) plain.push(await firstRunningPlain())
    const r = await firstRunningOurs()
    ours.push(r.total)
    submits.push(r.submit)
    slurmStart.push(r.slurm)
    if (i % 2 === 0) plain.push(await firstRunningPlain())
  }
  const o = median(ours)
  const p = median(plain)
  lines.push(
    `slurm dispatch -> first job running: seen by us after ${o.toFixed(0)} ms (median of ${reps}; render+write+sbatch ${median(submits).toFixed(0)} ms; Slurm had it RUNNING after ${median(slurmStart).toFixed(0)} ms; our polls every ${POLL_MS} ms) vs plain sbatch --wrap + 20 ms squeue loop ${p.toFixed(0)} ms (ratio ${(o / p).toFixed(2)}; Slurm's own start latency varies 0.25-1 s here)`,
  )
  if (n <= 0) return lines
  const loop = await plainLoop(n)
  const jobsR = await manyJobs(n)
  const arr = await oneArray(n)
  const rate = (ms: number) => ((n / ms) * 1000).toFixed(1)
  lines.push(
    `slurm ${n} short tasks, plain sbatch loop: ${(loop.ms / 1000).toFixed(1)} s (${rate(loop.ms)} tasks/s; submitting ${(loop.submitMs / 1000).toFixed(2)} s)`,
  )
  lines.push(
    `slurm ${n} short tasks as ${n} jobs (strategy): ${(jobsR.ms / 1000).toFixed(1)} s (${rate(jobsR.ms)} tasks/s; submitting ${(jobsR.submitMs / 1000).toFixed(2)} s; ${jobsR.squeue} squeue calls for ${jobsR.polls} polls) · ratio vs plain loop ${(jobsR.ms / loop.ms).toFixed(2)}`,
  )
  lines.push(
    `slurm ${n} short tasks as 1 job array (strategy): ${(arr.ms / 1000).toFixed(1)} s (${rate(arr.ms)} tasks/s; submitting ${(arr.submitMs / 1000).toFixed(2)} s; ${arr.squeue} squeue calls) · ratio vs plain loop ${(arr.ms / loop.ms).toFixed(2)} · vs ${n} jobs ${(arr.ms / jobsR.ms).toFixed(2)}`,
  )
  lines.push(
    'slurm note: 1 node, 2 cpus: the run time of short tasks is bounded by slurmd launching ~2 jobs/s here, not by the submitter',
  )
  return lines
}

function packYaml(name: string, tasksPerJob: number): string {
  return `version: 1
name: ${name}
execution:
  strategy: slurm
  config: { chunk_size: 36 }
  pools:
    default: { workers: 2, resources: { cpus: 1, memory: 300MB }, config: { tasks_per_job: ${tasksPerJob} } }
${zmumuMuonPtSections()}`
}

const load = loadAverage

/**
 * A hep.hist stage over uproot-Zmumu.root in 64 partitions (chunks of 36 events), through the run
 * engine with strategy slurm (2 concurrent jobs): tasks_per_job 1 (a job per partition) against 16
 * (the default for hep.* pools), and a plain `sbatch --wrap` loop of the same 64 task specs (the
 * runtime per partition, the least a job per partition costs). Jobs = distinct Slurm job ids the
 * tasks ran in (array elements count as jobs), sbatch = submissions.
 */
export async function benchSlurmPacking(): Promise<string[]> {
  const env = await setupSlurmEngineTest(200)
  try {
    const lines: string[] = [`slurm packing: load average before ${load()} (1, 5, 15 min; 2 cpus)`]
    const run = async (tpj: number) => {
      await idle(500)
      const versionId = await env.save(packYaml(`pack-bench-${tpj}`, tpj))
      const t0 = performance.now()
      const { runId } = await startRun({ versionId }, env.engine)
      const state = await env.waitFor(runId, 900_000)
      const ms = performance.now() - t0
      if (state !== 'succeeded') throw new Error(`the ${tpj}-per-job run ended ${state}`)
      const tasks = await env.t.db.task.findMany({ where: { runId, stageId: 'hist' } })
      const jobs = new Set(tasks.map((t) => t.batchJobId))
      const sbatch = new Set(tasks.map((t) => t.batchJobId?.split('_')[0]))
      const runDir = path.join(env.home, 'runs', runId)
      return { ms, jobs: jobs.size, sbatch: sbatch.size, tasks, runDir }
    }
    const single = await run(1)
    const packed = await run(16)
    // the same 64 specs, one plain sbatch each (re-running them writes into the first run's directory)
    await idle(500)
    const specs = single.tasks.map((t) => path.join(single.runDir, 'tasks', t.id, 'spec.json'))
    const t0 = performance.now()
    const ids = specs.map((spec) =>
      execFileSync('sbatch', [
        '--parsable',
        '--mem=300M',
        '-o',
        '/dev/null',
        '--wrap',
        `${process.execPath} ${runtimeScript()} --spec ${spec}`,
      ])
        .toString()
        .trim(),
    )
    while (squeueActive(ids) > 0) await sleep(POLL_MS)
    const plainMs = performance.now() - t0
    const n = single.tasks.length
    lines.push(
      `slurm hep.hist ${n} partitions, 1 task per job (engine): ${(single.ms / 1000).toFixed(1)} s in ${single.jobs} jobs (${single.sbatch} sbatch)`,
    )
    lines.push(
      `slurm hep.hist ${n} partitions, 16 tasks per job (engine, default for hep.*): ${(packed.ms / 1000).toFixed(1)} s in ${packed.jobs} jobs (${packed.sbatch} sbatch) · ratio vs 1 per job ${(packed.ms / single.ms).toFixed(2)} · vs plain sbatch loop ${(packed.ms / plainMs).toFixed(2)}`,
    )
    lines.push(
      `slurm hep.hist ${n} partitions, plain sbatch --wrap loop of the same specs: ${(plainMs / 1000).toFixed(1)} s in ${n} jobs · ratio 1-per-job engine vs plain ${(single.ms / plainMs).toFixed(2)}`,
    )
    lines.push(`slurm packing: load average after ${load()}`)
    return lines
  } finally {
    await env.cleanup()
  }
}

runIfMain(import.meta.url, async () => [...(await benchSlurm()), ...(await benchSlurmPacking())])
