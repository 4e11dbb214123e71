/**
 * The engine's shared Strategy contract suite (strategies/contract.ts) on strategy `slurm`,
 * against the REAL local Slurm: runs, exit codes through result.json, cancel (no process of the
 * job left), re-attach from a new session, unknown job -> lost.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { runStrategyContract } from '../contract.ts'
import { SlurmStrategy } from '../slurm.ts'
import type { JobRef } from '../../types.ts'
import { afterAll } from 'vitest'
import { ensureSlurm, removeTempRunsDirs, tempRunsDir, testSite } from './testing.ts'

ensureSlurm()
const runs = tempRunsDir('contract')

/** processes whose environment says they belong to this Slurm job (or array element) */
function processesOfJob(ref: JobRef): number[] {
  const [jobId, idx] = ref.jobId.split('_')
  const want =
    idx === undefined ? [`SLURM_JOB_ID=${jobId}`] : [`SLURM_ARRAY_JOB_ID=${jobId}`, `SLURM_ARRAY_TASK_ID=${idx}`]
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const env = readFileSync(path.join('/proc', d, 'environ'), 'utf8').split('\0')
      if (want.every((w) => env.includes(w))) out.push(Number(d))
    } catch {
      /* gone or not ours */
    }
  }
  return out
}

// the contract closes its sessions in its own afterAll, registered before this one runs
afterAll(() => removeTempRunsDirs())

runStrategyContract({
  name: 'slurm',
  create: () => new SlurmStrategy({ site: testSite(runs), pollIntervalMs: 200, maxPollIntervalMs: 1000 }),
  runDir: () => path.join(runs, 'run'),
  context: { site: testSite(runs) },
  possiblePool: { cpus: 1, memoryBytes: 100 * 1024 ** 2 },
  impossiblePool: { gpus: 2 },
  jobTimeoutMs: 30_000,
  processesOf: processesOfJob,
  ghostRef: (stored) => ({ ...stored, taskId: `${stored.taskId}-ghost`, jobId: '999999', arrayIndex: null, data: {} }),
  samples: [
    {
      external: { state: 'PENDING', reason: 'Priority' },
      expect: { worker: 'pending-in-queue', task: 'queued', final: false, hopeless: false },
    },
    {
      external: { state: 'PENDING', reason: 'Resources' },
      expect: { task: 'queued', reason: 'Resources: waiting for resources (cpus, memory or gpus) to become free' },
    },
    { external: { state: 'PENDING', reason: 'BadConstraints' }, expect: { task: 'queued', hopeless: true } },
    { external: { state: 'PENDING', reason: 'QOSMaxJobsPerUserLimit' }, expect: { task: 'queued', hopeless: false } },
    { external: { state: 'CONFIGURING' }, expect: { worker: 'pending-in-queue', task: 'queued' } },
    { external: { state: 'RUNNING' }, expect: { worker: 'running', task: 'running', final: false } },
    { external: { state: 'COMPLETING' }, expect: { worker: 'running', final: false } },
    { external: { state: 'COMPLETED', exitCode: 0 }, expect: { worker: 'gone', task: 'succeeded', final: true } },
    {
      external: { state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 3 },
      expect: { task: 'failed', final: true, reason: 'exit code 3' },
    },
    { external: { state: 'FAILED', signal: 9 }, expect: { task: 'failed', reason: 'killed by SIGKILL' } },
    { external: { state: 'TIMEOUT', reason: 'TimeLimit' }, expect: { task: 'failed', final: true } },
    { external: { state: 'OUT_OF_MEMORY' }, expect: { task: 'failed', final: true } },
    { external: { state: 'DEADLINE' }, expect: { task: 'failed', final: true } },
    { external: { state: 'CANCELLED' }, expect: { task: 'cancelled', worker: 'gone', final: true } },
    { external: { state: 'NODE_FAIL' }, expect: { task: 'lost', worker: 'gone', final: true } },
    { external: { state: 'PREEMPTED' }, expect: { task: 'lost', final: true } },
    { external: { state: 'BOOT_FAIL' }, expect: { task: 'lost', final: true } },
  ],
})
