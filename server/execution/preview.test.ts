/**
 * Submission preview (plan.preview) and what was submitted after dispatch (run.jobScript,
 * run.backendInfo): domain functions, no batch system needed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultSiteConfig } from '../site/load.ts'
import type { SiteConfig } from '../site/schema.ts'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { saveVersion } from '../library/workflows.ts'
import { mustHave } from '../must.ts'
import { previewSubmissions } from './preview.ts'
import { readTaskJobScript, runBackendInfo } from './submitted.ts'

const root = path.resolve(import.meta.dirname, '../..')
const heterogeneous = readFileSync(path.join(root, 'examples/heterogeneous.yaml'), 'utf8')
const daskSlurm = readFileSync(path.join(root, 'examples/dask-slurm.yaml'), 'utf8')

let home: string
let site: SiteConfig

beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'cr-preview-'))
  site = defaultSiteConfig(home)
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

/** a site whose Slurm / HTCondor tools cannot be found: preflight must report, not crash */
function unreachableSite(): SiteConfig {
  return {
    ...site,
    slurm: { ...site.slurm, preflight: true, binDir: path.join(home, 'no-slurm-here') },
  }
}

describe('previewSubmissions', () => {
  it('"ok" is site-aware: a pool bigger than this host is an error placed at the resource it asks for', async () => {
    const yaml = `analysis:
  stages:
    - { id: Train, op: noop, execution: { require: gpu } }
execution:
  pools:
    gpu:
      workers: 1
      resources: { cpus: 1, gpus: 64 }
`
    const r = await previewSubmissions(yaml, { site })
    expect(r.compileProblems).toEqual([]) // the language is fine ...
    expect(r.ok).toBe(false) // ... but this host has no 64 GPUs
    const gpu = r.siteProblems.find((p) => p.code === 'host-gpus-insufficient')!
    expect(gpu.severity).toBe('error')
    expect(gpu.message).toMatch(/^on this site: pool 'gpu' needs 64 GPUs per worker; this host has \d+$/)
    expect(gpu.hint).toMatch(/lower resources.gpus/)
    expect([gpu.range.start.line, gpu.range.start.col]).toEqual([8, 29])
    // within what the host has: ok
    const fine = await previewSubmissions(yaml.replace('gpus: 64', 'gpus: 0'), { site })
    expect(fine.siteProblems.filter((p) => p.severity === 'error')).toEqual([])
    expect(fine.ok).toBe(true)
  })

  it('slurm: the gpu pool asks for --gres=gpu:1, high_memory for its memory, per pool', async () => {
    const r = await previewSubmissions(heterogeneous, {
      overrides: { strategy: 'slurm' },
      site: { ...site, slurm: { ...site.slurm, preflight: false } },
    })
    expect(r.ok).toBe(true)
    expect(r.strategy).toBe('slurm')
    expect(r.pools.map((p) => p.pool).sort()).toEqual(['default', 'gpu', 'high_memory'])
    const by = mustHave(
      Object.fromEntries(r.pools.map((p) => [p.pool, p])),
      ['default', 'gpu', 'high_memory'],
      'the previewed pools',
    )
    for (const p of r.pools) {
      expect(p.submission?.kind).toBe('slurm-script')
      expect(p.submission?.text).toMatch(/^#!\/bin\/bash\n#SBATCH /)
    }
    expect(by.gpu.submission!.text).toContain('#SBATCH --gres=gpu:1')
    expect(by.high_memory.submission!.text).toContain('#SBATCH --mem=65536M')
    expect(by.high_memory.submission!.text).toContain('#SBATCH --cpus-per-task=4')
    expect(by.default.submission!.text).not.toContain('--gres')
  })

  it('slurm without a reachable Slurm: the scripts are still shown, with the preflight problem', async () => {
    const r = await previewSubmissions(heterogeneous, { overrides: { strategy: 'slurm' }, site: unreachableSite() })
    expect(r.problems.some((p) => p.code === 'slurm-unreachable' && p.severity === 'error')).toBe(true)
    expect(r.pools.find((p) => p.pool === 'gpu')?.submission?.text).toContain('--gres=gpu:1')
  })

  it('htcondor: the gpu pool requests one GPU', async () => {
    const r = await previewSubmissions(heterogeneous, { overrides: { strategy: 'htcondor' }, site })
    const gpu = r.pools.find((p) => p.pool === 'gpu')!
    expect(gpu.submission?.kind).toBe('condor-submit')
    expect(gpu.submission?.text).toMatch(/request_gpus\s*=\s*1/)
    expect(r.pools.find((p) => p.pool === 'high_memory')?.submission?.text).toMatch(/request_memory\s*=\s*65536/)
  })

  it('dask + slurm: each pool shows its Dask worker job script', async () => {
    const r = await previewSubmissions(daskSlurm, { site: { ...site, slurm: { ...site.slurm, preflight: false } } })
    expect(r.backend).toBe('dask')
    const hm = r.pools.find((p) => p.pool === 'high_memory')!
    expect(hm.submission?.kind).toBe('dask-worker-slurm')
    expect(hm.submission?.text).toContain('#SBATCH --partition=highmem')
    expect(hm.submission?.text).toContain('distributed.cli.dask_worker')
    expect(hm.submission?.text).toContain('--resources pool.high_memory=1')
  })

  it('local: the task command per pool', async () => {
    const r = await previewSubmissions(heterogeneous, { site })
    expect(r.pools.every((p) => p.submission?.kind === 'command')).toBe(true)
  })

  it('bad YAML and unknown drivers give problems, not exceptions', async () => {
    const bad = await previewSubmissions('name: [unclosed', { site })
    expect(bad.ok).toBe(false)
    expect(bad.pools).toEqual([])
    const huge = await previewSubmissions('#'.repeat(600 * 1024), { site })
    expect(huge.ok).toBe(false)
    expect(huge.compileProblems[0]?.code).toBe('too-large')
  })
})

describe('readTaskJobScript / runBackendInfo', () => {
  let t: TestDatabase
  let runDir: string
  let runId: string
  const outside = () => path.join(home, 'secret.txt')

  async function task(jobRef: Record<string, unknown> | null, extra: Record<string, unknown> = {}) {
    const tk = await t.db.task.create({
      data: {
        runId,
        stageId: 'TrainModel',
        pool: 'gpu',
        state: 'running',
        batchJobId: '42',
        workerId: 'slurm-42',
        reason: 'Resources',
        ...extra,
      },
    })
    if (jobRef)
      await t.db.event.create({
        data: { runId, type: 'task.submitted', taskId: tk.id, payload: JSON.stringify({ attempt: 0, jobRef }) },
      })
    return tk.id
  }

  beforeAll(async () => {
    t = await createTestDatabase('sqlite')
    const v = await saveVersion(t.db, { id: null, name: 'tester', mode: 'token', admin: true }, { yaml: heterogeneous })
    runDir = path.join(home, 'runs', 'r1')
    mkdirSync(path.join(runDir, 'slurm', 'scripts'), { recursive: true })
    writeFileSync(path.join(runDir, 'slurm', 'scripts', 'job.sh'), '#!/bin/bash\n#SBATCH --gres=gpu:1\nexec true\n')
    writeFileSync(outside(), 'not for you\n')
    symlinkSync(outside(), path.join(runDir, 'slurm', 'scripts', 'link.sh'))
    const run = await t.db.run.create({
      data: {
        workflowId: v.workflow.id,
        versionId: v.version.id,
        plan: '{}',
        planHash: 'x',
        backend: 'local',
        strategy: 'slurm',
        runDir,
        state: 'running',
      },
    })
    runId = run.id
  })
  afterAll(async () => {
    await t?.cleanup()
  })

  it('returns the recorded script with the job id, worker and reason', async () => {
    const id = await task({
      taskId: 'x',
      attempt: 0,
      pool: 'gpu',
      jobId: '42',
      data: { scriptPath: path.join(runDir, 'slurm', 'scripts', 'job.sh') },
    })
    const r = await readTaskJobScript(t.db, id)
    expect(r.batchJobId).toBe('42')
    expect(r.workerId).toBe('slurm-42')
    expect(r.reason).toBe('Resources')
    expect(r.files).toHaveLength(1)
    expect(r.files[0]!.text).toContain('--gres=gpu:1')
    expect(r.files[0]!.path).toBe(path.join('slurm', 'scripts', 'job.sh'))
  })

  it('refuses a recorded path outside the run directory (traversal and symlink)', async () => {
    const a = await task({
      taskId: 'x',
      attempt: 0,
      pool: 'gpu',
      jobId: '43',
      data: { scriptPath: path.join(runDir, '..', '..', 'secret.txt') },
    })
    await expect(readTaskJobScript(t.db, a)).rejects.toThrow(/outside the run directory/)
    const b = await task({ taskId: 'x', attempt: 0, pool: 'gpu', jobId: '44', data: { scriptPath: '/etc/passwd' } })
    await expect(readTaskJobScript(t.db, b)).rejects.toThrow(/outside the run directory/)
    const c = await task({
      taskId: 'x',
      attempt: 0,
      pool: 'gpu',
      jobId: '45',
      data: { scriptPath: path.join(runDir, 'slurm', 'scripts', 'link.sh') },
    })
    await expect(readTaskJobScript(t.db, c)).rejects.toThrow(/outside the run directory/)
  })

  it('explains when there is no script (not submitted yet, local process)', async () => {
    const a = await task(null)
    expect((await readTaskJobScript(t.db, a)).note).toMatch(/not been submitted/)
    const b = await task({ taskId: 'x', attempt: 0, pool: 'gpu', jobId: '1:2', data: { pgid: 1 } })
    const r = await readTaskJobScript(t.db, b)
    expect(r.files).toEqual([])
    expect(r.note).toMatch(/no job script/)
  })

  it('reads the Dask session of a dask run', async () => {
    const v = await t.db.workflowVersion.findFirstOrThrow()
    const dir = path.join(home, 'runs', 'r2')
    mkdirSync(path.join(dir, 'dask'), { recursive: true })
    const run = await t.db.run.create({
      data: {
        workflowId: v.workflowId,
        versionId: v.id,
        plan: '{}',
        planHash: 'x',
        backend: 'dask',
        strategy: 'slurm',
        runDir: dir,
      },
    })
    expect((await runBackendInfo(t.db, run.id)).note).toMatch(/not started/)
    writeFileSync(
      path.join(dir, 'dask', 'session.json'),
      JSON.stringify({
        strategy: 'slurm',
        external: false,
        python: '/usr/bin/python3',
        scheduler: { address: 'tcp://10.0.0.1:8786', dashboard: 'http://10.0.0.1:8787', health: 'ok', pid: 12 },
        pools: [
          {
            name: 'gpu',
            target: 1,
            exhausted: false,
            reason: null,
            connected: 1,
            workers: [{ id: 'dask-gpu-0', name: 'gpu-0', pool: 'gpu', state: 'running', jobId: '77' }],
          },
        ],
        updatedAt: '2025-01-01T00:00:00Z',
      }),
    )
    const info = await runBackendInfo(t.db, run.id)
    expect(info.dask?.scheduler.address).toBe('tcp://10.0.0.1:8786')
    expect(info.dask?.scheduler.dashboard).toBe('http://10.0.0.1:8787/')
    expect(info.dask!.pools[0]!.workers[0]!.jobId).toBe('77')
    expect((await runBackendInfo(t.db, runId)).dask).toBeNull()
  })
})
