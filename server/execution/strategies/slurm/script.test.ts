import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { ExecutionPlan } from '../../../workflow/types.ts'
import {
  bytesToSlurmMB,
  formatSlurmTime,
  jobNameFor,
  parseSlurmTime,
  poolDirectives,
  renderJobScript,
  renderPoolPreview,
} from './script.ts'
import { compileWorkflow } from '../../../workflow/index.ts'
import { pool, REPO_ROOT, testSite, tmpDir } from './testing.ts'

const GiB = 1024 ** 3
/** a minimal environment for running a rendered script outside Slurm */
const envOf = (o: Record<string, string>) => ({ PATH: process.env.PATH!, ...o }) as unknown as NodeJS.ProcessEnv
const site = testSite('/shared/runs')

function directivesOf(script: string): string[] {
  return script
    .split('\n')
    .filter((l) => l.startsWith('#SBATCH '))
    .map((l) => l.slice(8))
}

/** the seed's heterogeneous workflow, compiled by the real compiler */
function heterogeneousPlan(): ExecutionPlan {
  const text = readFileSync(path.join(REPO_ROOT, 'examples/heterogeneous.yaml'), 'utf8')
  const r = compileWorkflow(text, { fileName: 'heterogeneous.yaml' })
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
  return r.plan!
}

describe('units', () => {
  it('converts memory to whole MiB, rounding up', () => {
    expect(bytesToSlurmMB(4 * GiB)).toBe(4096)
    expect(bytesToSlurmMB(1)).toBe(1)
    expect(bytesToSlurmMB(1.5 * 1024 * 1024)).toBe(2)
  })
  it('formats and parses Slurm times', () => {
    expect(formatSlurmTime(5400)).toBe('01:30:00')
    expect(formatSlurmTime(90000)).toBe('1-01:00:00')
    expect(formatSlurmTime(0.2)).toBe('00:00:01')
    expect(parseSlurmTime('1-01:00:00')).toBe(90000)
    expect(parseSlurmTime('45')).toBe(2700)
    expect(parseSlurmTime('UNLIMITED')).toBe(null)
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 * 86400 }), (s) => parseSlurmTime(formatSlurmTime(s)) === s))
  })
  it('makes job names squeue can filter on exactly', () => {
    expect(jobNameFor('cr', 'run 42/x', 'high_memory')).toBe('cr-run_42_x-high_memory')
  })
})

describe('job scripts for the heterogeneous workflow (examples/heterogeneous.yaml)', () => {
  const plan = heterogeneousPlan()
  const pools = plan.pools
  // this site maps the portable pool name high_memory onto its partition
  const hsite = testSite('/shared/runs', { pools: { high_memory: { partition: 'highmem' } } })
  const preview = Object.fromEntries(pools.map((p) => [p.name, renderPoolPreview(plan, p, hsite, { runId: 'r1' })]))

  it('renders a previewable script for every pool, without problems', () => {
    for (const p of pools) {
      expect(preview[p.name]!.problems).toEqual([])
      expect(preview[p.name]!.script.startsWith('#!/bin/bash\n#SBATCH ')).toBe(true)
      expect(preview[p.name]!.script).toContain('\nset -euo pipefail\n')
    }
  })

  it('the gpu stage lands with --gres=gpu:1', () => {
    const d = directivesOf(preview.gpu!.script)
    expect(d).toContain('--gres=gpu:1')
    expect(d).toContain('--mem=16384M') // memory: 16GB
    expect(d).toContain('--cpus-per-task=1')
    expect(d.find((x) => x.startsWith('--partition'))).toBeUndefined() // Slurm's default partition
  })

  it('the high_memory stage goes to its partition with its memory and cpus', () => {
    const d = directivesOf(preview.high_memory!.script)
    expect(d).toContain('--partition=highmem')
    expect(d).toContain('--mem=65536M') // memory: 64GB
    expect(d).toContain('--cpus-per-task=4')
    expect(d.some((x) => x.startsWith('--gres'))).toBe(false)
  })

  it('job name, logs into the run directory, chdir, comment', () => {
    const d = directivesOf(preview.default!.script)
    expect(d).toContain('--job-name=cr-r1-default')
    expect(d).toContain('--output=/shared/runs/r1/slurm/cr-r1-default-%j.out')
    expect(d).toContain('--error=/shared/runs/r1/slurm/cr-r1-default-%j.err')
    expect(d).toContain('--chdir=/shared/runs/r1')
    expect(d).toContain('--comment=controlroom:run=r1:pool=default')
    expect(preview.default!.script).toContain('\ncd /shared/runs/r1\n')
    expect(preview.default!.script).toContain('exec controlroom task --run r1 --task ProducePlots\n')
    // each directive says where it came from (shown in the plan panel)
    expect(preview.high_memory!.directives.find((x) => x.flag === '--partition')!.source).toBe(
      'site.slurm.pools.high_memory.partition',
    )
    expect(preview.gpu!.directives.find((x) => x.flag === '--gres')!.source).toBe('pool.resources.gpus')
    // a pool's own config wins over the site's per-pool default
    const own = renderPoolPreview(plan, { ...pools[1]!, config: { partition: 'debug' } }, hsite, { runId: 'r1' })
    expect(directivesOf(own.script)).toContain('--partition=debug')
  })
})

describe('pool config -> directives', () => {
  it('account, qos, constraint, walltime, tmp disk, gpu type, extra', () => {
    const p = pool('x', {
      resources: { cpus: 2, memoryBytes: GiB, gpus: 2, diskBytes: 10 * GiB },
      config: {
        account: 'atlas',
        qos: 'long',
        constraint: ['gpu', 'highmem'],
        walltime: '90m',
        walltimeSeconds: 5400,
        gpu_type: 'a100',
        extra: ['--exclusive', '--mail-type=END'],
      },
    })
    const d = poolDirectives(p, site).directives.map((x) => x.text)
    expect(d).toEqual([
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=2',
      '--mem=1024M',
      '--gres=gpu:a100:2',
      '--tmp=10240M',
      '--account=atlas',
      '--qos=long',
      '--constraint=gpu&highmem',
      '--time=01:30:00',
      '--exclusive',
      '--mail-type=END',
    ])
  })
  it('uses the site defaults when the pool gives none', () => {
    const s = testSite('/r', {
      partition: 'debug',
      account: 'phys',
      qos: 'normal',
      walltime: '02:00:00',
      extra: ['--requeue'],
    })
    const d = poolDirectives(pool('y', { memory: null }), s).directives
    expect(d.map((x) => x.text)).toEqual([
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=1',
      '--partition=debug',
      '--account=phys',
      '--qos=normal',
      '--time=02:00:00',
      '--requeue',
    ])
    expect(d.find((x) => x.flag === '--partition')!.source).toBe('site.slurm.partition')
  })
  it('accepts a Slurm-format or duration walltime string; refuses an unreadable one', () => {
    expect(
      poolDirectives(pool('t', { config: { walltime: '1-00:00:00' } }), site).directives.map((x) => x.text),
    ).toContain('--time=1-00:00:00')
    expect(poolDirectives(pool('t', { config: { walltime: '2h' } }), site).directives.map((x) => x.text)).toContain(
      '--time=02:00:00',
    )
    const s2 = testSite('/r', {
      walltime: '30m',
      pools: { t: { walltime: '1h', extra: ['--exclusive'], qos: 'fast' } },
    })
    expect(poolDirectives(pool('t'), s2).directives.map((x) => x.text)).toEqual(
      expect.arrayContaining(['--time=01:00:00', '--exclusive', '--qos=fast']),
    )
    expect(poolDirectives(pool('u'), s2).directives.map((x) => x.text)).toContain('--time=00:30:00')
    const bad = poolDirectives(pool('t', { config: { walltime: 'tomorrow' } }), site).problems
    expect(bad[0]).toMatchObject({
      code: 'slurm-invalid-walltime',
      pool: 't',
      path: 'execution.pools.t.config.walltime',
    })
  })
  it('validates extra directives: must start with --, may not override tracking options, single words', () => {
    const probs = poolDirectives(
      pool('e', { config: { extra: ['exclusive', '--output=/tmp/x', '--mail-user=a b', '-N 2'] } }),
      site,
    ).problems
    expect(probs.map((p) => p.code)).toEqual([
      'slurm-invalid-extra',
      'slurm-reserved-extra',
      'slurm-invalid-value',
      'slurm-invalid-extra',
    ])
    expect(probs[0]!.message).toMatch(/must start with --/)
  })
  it('refuses values that would break the directive line', () => {
    const probs = poolDirectives(pool('v', { config: { partition: 'debug\n#SBATCH --x' } }), site).problems
    expect(probs[0]).toMatchObject({ code: 'slurm-invalid-value' })
  })
})

describe('job arrays, dependencies, environment', () => {
  const tricky = ['it\'s "quoted"', '$HOME `x` ; rm -rf /', 'a\\b', 'new\nline', '']
  it('a stage with many partitions is one array; SLURM_ARRAY_TASK_ID selects the task; argv survives exactly', () => {
    const tasks = [0, 1, 2].map((i) => ({
      taskId: `S.${i}`,
      argv: ['printf', '%s|', `part-${i}`, ...tricky],
      env: { PART: `p ${i}` },
    }))
    const r = renderJobScript(
      {
        jobName: 'cr-r-default',
        pool: pool('default'),
        workDir: '/tmp',
        logDir: '/tmp/l',
        tasks,
        arrayParallelism: 2,
        afterOk: ['11', '12'],
        env: { WEIRD: "x'y" },
      },
      site,
      { setup: ['echo setup-ran >&2'] },
    )
    expect(r.problems).toEqual([])
    const d = directivesOf(r.script)
    expect(d).toContain('--array=0-2%2')
    expect(d).toContain('--output=/tmp/l/cr-r-default-%A_%a.out')
    expect(d).toContain('--dependency=afterok:11:12')
    expect(d).toContain('--kill-on-invalid-dep=yes')
    const dir = tmpDir('script')
    const file = path.join(dir, 'job.sh')
    writeFileSync(file, r.script)
    execFileSync('bash', ['-n', file])
    const out = execFileSync('bash', [file], {
      env: envOf({ SLURM_ARRAY_TASK_ID: '1', SLURM_JOB_ID: '99' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString()
    expect(out).toBe(['part-1', ...tricky].map((s) => `${s}|`).join(''))
    const env = execFileSync('bash', [file], {
      env: envOf({ SLURM_ARRAY_TASK_ID: '2' }),
    })
    expect(env.toString()).toContain('part-2|')
    // outside an array, or an unknown index, the script refuses
    expect(() => execFileSync('bash', [file], { env: envOf({}), stdio: 'pipe' })).toThrow()
    expect(() => execFileSync('bash', [file], { env: envOf({ SLURM_ARRAY_TASK_ID: '7' }), stdio: 'pipe' })).toThrow()
  })
  it('exports environment and task id, runs setup lines without -u', () => {
    const r = renderJobScript(
      {
        jobName: 'j',
        pool: pool('default'),
        workDir: '/tmp',
        logDir: '/tmp',
        tasks: [{ taskId: 'T 1', argv: ['sh', '-c', 'echo "$CONTROLROOM_TASK_ID/$A/$CONTROLROOM_SLURM_JOB_ID"'] }],
        env: { A: 'b c' },
      },
      site,
      { setup: ['echo "$UNSET_VARIABLE_IS_FINE" >/dev/null'] },
    )
    const file = path.join(tmpDir('script'), 'job.sh')
    writeFileSync(file, r.script)
    expect(execFileSync('bash', [file], { env: envOf({ SLURM_JOB_ID: '5' }) }).toString()).toBe('T 1/b c/5\n')
  })
  it('rejects bad environment names and paths with blanks', () => {
    const r = renderJobScript(
      {
        jobName: 'j',
        pool: pool('p'),
        workDir: '/my runs',
        logDir: '/my runs/l',
        tasks: [{ taskId: 't', argv: ['true'] }],
        env: { 'BAD-NAME': 'x' },
      },
      site,
    )
    expect(r.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['slurm-invalid-path', 'slurm-invalid-env']))
  })
})
