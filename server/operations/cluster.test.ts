/**
 * The overview's cluster view against the real Slurm of this machine (SLURM_CONF). HTCondor is in
 * htcondor.format.test.ts (the labelled simulator: HTCondor cannot run here).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { ensureSlurm, testSite } from '../execution/strategies/slurm/testing.ts'
import { saveVersion } from '../library/workflows.ts'
import { readClusterView } from './cluster.ts'
import { parsePendingJobs, summarisePartitions } from './slurm.ts'

const actor = { id: null, name: 'tester', mode: 'token' as const, admin: true }

describe('Slurm output parsing', () => {
  it('sums sinfo -N rows per partition by node state', () => {
    const text = [
      'n1|debug*|up|infinite|2|8000|gpu:1|gpu,highmem|idle|0',
      'n2|debug*|up|infinite|4|16000|(null)|(null)|mixed|0',
      'n3|debug*|up|infinite|4|16000|(null)|(null)|drained|0',
      'n1|highmem|up|infinite|2|8000|gpu:1|gpu,highmem|allocated|0',
    ].join('\n')
    expect(summarisePartitions(text)).toEqual([
      expect.objectContaining({ name: 'debug', isDefault: true, nodes: 3, idle: 1, mixed: 1, allocated: 0, other: 1 }),
      expect.objectContaining({ name: 'highmem', isDefault: false, nodes: 1, allocated: 1, gpus: 1, cpus: 2 }),
    ])
  })

  it('explains the pending reasons squeue gives', () => {
    const jobs = parsePendingJobs('42|analysis|alice|highmem|Resources|4|64G|2026-12-07T03:00:00\n')
    expect(jobs[0]).toMatchObject({ jobId: '42', reason: 'Resources', partition: 'highmem', memory: '64G' })
    expect(jobs[0]!.reasonText).toMatch(/^Resources: /)
  })
})

describe('readClusterView', () => {
  let t: TestDatabase
  let dir: string
  let heldJob: string | null = null
  beforeAll(async () => {
    ensureSlurm()
    t = await createTestDatabase('sqlite')
    dir = mkdtempSync(path.join(os.tmpdir(), 'cr-ops-cluster-'))
  })
  afterAll(async () => {
    if (heldJob) execFileSync('scancel', [heldJob])
    await t?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('shows Slurm partitions, a pending job with its reason, and which partition can give each pool', async () => {
    heldJob = execFileSync('sbatch', ['--parsable', '--hold', '-J', 'cr-ops-held', '-o', '/dev/null', '--wrap', 'true'])
      .toString()
      .trim()
    await saveVersion(t.db, actor, {
      yaml: `version: 1
name: zmumu
analysis:
  stages:
    - id: Index
      op: shell
      params: { command: "true" }
      execution: { require: high_memory }
    - id: Train
      op: shell
      params: { command: "true" }
      execution: { require: gpu }
execution:
  strategy: slurm
  pools:
    high_memory: { workers: 2, resources: { cpus: 1, memory: 3GB }, config: { partition: highmem } }
    gpu: { workers: 1, resources: { gpus: 2, memory: 1GB } }
`,
    })
    const view = await readClusterView(t.db, testSite(dir))
    expect(view.slurm.status).toBe('ok')
    if (view.slurm.status !== 'ok') return
    expect(view.slurm.partitions.map((p) => p.name)).toEqual(expect.arrayContaining(['debug', 'highmem']))
    const held = view.slurm.pending.find((j) => j.jobId === heldJob)
    expect(held).toMatchObject({ name: 'cr-ops-held', reason: 'JobHeldUser' })
    const sentences = view.slurm.fits.map((f) => f.sentence)
    // the local node has 2 CPUs and 8000 MB: two 3 GB workers fit on it
    expect(sentences).toContain('high_memory needs 2 × 3 GB: 1 node of partition highmem can give it')
    expect(sentences.find((s) => s.startsWith('gpu '))).toMatch(
      /^gpu needs 1 × 2 GPUs, 1 GB: no node of partition debug can give one worker \(the largest node has 2 CPUs, 7\.8 GB, 1 GPUs\)$/,
    )
  })
})
