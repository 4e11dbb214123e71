/**
 * Test helpers for the real local Slurm (scripts/services/slurm.sh). Never skips: when
 * SLURM_CONF is unset or Slurm does not answer, it starts the cluster (idempotent).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PlanPool } from '../../../workflow/types.ts'
import { defaultSiteConfig } from '../../../site/load.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import { type EngineTestEnv, setupEngineTest } from '../../testing.ts'
import { LocalTransport } from '../../transport/local.ts'
import { SlurmJobs, type SlurmJobUpdate } from './jobs.ts'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..')

function slurmAnswers(): boolean {
  try {
    const out = execFileSync('sinfo', ['-h', '-n', 'localhost', '-o', '%T'], {
      env: process.env,
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim()
    return /idle|mixed|allocated|completing/.test(out)
  } catch {
    return false
  }
}

/** make sure the local Slurm runs and SLURM_CONF is set in process.env; returns SLURM_CONF */
export function ensureSlurm(): string {
  if (process.env.SLURM_CONF && slurmAnswers()) return process.env.SLURM_CONF
  const out = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/services/slurm.sh'), 'start'], {
    timeout: 90_000,
  }).toString()
  const m = /export SLURM_CONF=(\S+)/.exec(out)
  if (!m) throw new Error(`scripts/services/slurm.sh start printed no SLURM_CONF:\n${out}`)
  process.env.SLURM_CONF = m[1]!
  if (!slurmAnswers()) throw new Error('Slurm started but sinfo does not answer')
  return m[1]!
}

const created: string[] = []

/** a fresh run directory under var/test-slurm (visible to the local slurmd: same host) */
export function tempRunsDir(label: string): string {
  const base = path.join(REPO_ROOT, 'var', 'test-slurm')
  mkdirSync(base, { recursive: true })
  const d = mkdtempSync(path.join(base, `${label}-`))
  created.push(d)
  return d
}

/** remove the run directories this test file created (call in afterAll, after its jobs ended) */
export function removeTempRunsDirs(): void {
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true })
}

export function testSite(runs: string, over: Partial<SiteConfig['slurm']> = {}): SiteConfig {
  const s = defaultSiteConfig(path.join(REPO_ROOT, 'var'))
  return {
    ...s,
    paths: { ...s.paths, runs },
    slurm: { ...s.slurm, pollIntervalMs: 200, maxPollIntervalMs: 1000, ...over },
  }
}

/** an engine test environment on the real local Slurm, its site file polling every `pollIntervalMs` */
export async function setupSlurmEngineTest(pollIntervalMs: number): Promise<EngineTestEnv> {
  ensureSlurm()
  const env = await setupEngineTest()
  writeFileSync(
    path.join(env.home, 'site.yaml'),
    `slurm:\n  pollIntervalMs: ${pollIntervalMs}\n  maxPollIntervalMs: 1000\n`,
  )
  return env
}

/**
 * A SlurmJobs of a fresh run on this host's Slurm (run directory under a fresh tempRunsDir(label)),
 * collecting every update it pushes.
 */
export function testJobs(label: string, over: Partial<SiteConfig['slurm']> = {}) {
  const runs = tempRunsDir(label)
  const site = testSite(runs, over)
  const updates: SlurmJobUpdate[] = []
  const runId = `${label}${Date.now().toString(36)}`
  const jobs = new SlurmJobs({
    transport: new LocalTransport(),
    site,
    runId,
    runDir: path.join(runs, runId),
    onUpdate: (u) => updates.push(u),
  })
  return { jobs, updates, runs, site, runId }
}

export function pool(
  name: string,
  o: Partial<PlanPool> & { cpus?: number; memory?: number | null; gpus?: number } = {},
): PlanPool {
  return {
    name,
    workers: o.workers ?? 1,
    resources: o.resources ?? {
      cpus: o.cpus ?? 1,
      memoryBytes: o.memory === undefined ? 100 * 1024 * 1024 : o.memory,
      gpus: o.gpus ?? 0,
      diskBytes: null,
    },
    resourceClass: null,
    config: o.config ?? {},
    implicit: false,
    stages: o.stages ?? [],
  }
}

export function tmpDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `cr-${label}-`))
}
