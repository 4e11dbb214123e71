/**
 * `controlroom validate` and `plan` check the workflow against the site, as the composer does
 * before "plan ok": a pool this host cannot give (strategy local, this machine's real CPUs and
 * GPUs) or a partition the real local Slurm cluster lacks is an error at the pool's FILE:LINE:COL,
 * with the composer's code and hint, and the exit is non-zero; `--no-site` skips the check.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { previewSubmissions } from '../../execution/preview.ts'
import { ensureSlurm } from '../../execution/strategies/slurm/testing.ts'
import { runCli } from '../testing.ts'

let dir: string
let savedHome: string | undefined
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cr-cli-site-'))
  savedHome = process.env.CONTROLROOM_HOME
  process.env.CONTROLROOM_HOME = dir
  writeFileSync(path.join(dir, 'site.yaml'), 'slurm:\n  pollIntervalMs: 250\n')
})
afterAll(() => {
  if (savedHome === undefined) delete process.env.CONTROLROOM_HOME
  else process.env.CONTROLROOM_HOME = savedHome
  rmSync(dir, { recursive: true, force: true })
})

const cli = runCli

const workflow = (strategy: string, pool: string) =>
  [
    'version: 1',
    'analysis:',
    '  stages:',
    '    - id: Train',
    '      op: shell',
    '      params: { command: "true" }',
    '      execution: { require: big }',
    'execution:',
    '  backend: local',
    `  strategy: ${strategy}`,
    '  pools:',
    '    big:',
    pool,
    '',
  ].join('\n')

// line 15: the `gpus` key of pool `big`
const GPUS_64 = workflow('local', '      workers: 1\n      resources:\n        gpus: 64')

describe('a pool this host cannot give (strategy local)', () => {
  it('validate reports it at the pool, with the code and hint the composer shows, and exits 1', async () => {
    const r = await cli(['validate', 'wf.yaml'], GPUS_64)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /wf\.yaml:15:9: error host-gpus-insufficient: .*pool 'big' needs 64 GPUs per worker; this host has \d+/,
    )
    expect(r.stderr).toContain('lower resources.gpus')
    expect(r.stderr).toContain('wf.yaml: 1 error, 0 warnings')

    const json = await cli(['validate', 'wf.yaml', '--json'], GPUS_64)
    expect(json.code).toBe(1)
    const out = JSON.parse(json.stdout)
    expect(out.ok).toBe(false)
    // the same problems, codes, hints and positions as the composer's site check (plan.preview)
    const composer = await previewSubmissions(GPUS_64)
    expect(composer.siteProblems.length).toBeGreaterThan(0)
    expect(out.errors).toEqual(
      composer.siteProblems
        .filter((p) => p.severity === 'error')
        .map((p) => ({
          file: 'wf.yaml',
          code: p.code,
          severity: p.severity,
          message: p.message,
          hint: p.hint,
          range: p.range,
          path: p.path,
        })),
    )
    expect(out.errors[0].range.start).toMatchObject({ line: 15, col: 9 })
  })

  it('plan says no in text and in pure JSON, and exits 1', async () => {
    const text = await cli(['plan', 'wf.yaml'], GPUS_64)
    expect(text.code).toBe(1)
    expect(text.stdout).toBe('')
    expect(text.stderr).toMatch(/wf\.yaml:15:9: error host-gpus-insufficient/)

    const json = await cli(['plan', 'wf.yaml', '--json'], GPUS_64)
    expect(json.code).toBe(1)
    const out = JSON.parse(json.stdout)
    expect(out.errors.map((e: { code: string }) => e.code)).toEqual(['host-gpus-insufficient'])
    expect(json.stdout.trim().startsWith('{')).toBe(true)
  })

  it('--no-site skips the check: the file is valid for the compiler', async () => {
    const v = await cli(['validate', 'wf.yaml', '--no-site'], GPUS_64)
    expect(v.code).toBe(0)
    expect(v.stdout).toContain('wf.yaml: valid (1 stage, 1 pool)')
    const p = await cli(['plan', 'wf.yaml', '--json', '--no-site'], GPUS_64)
    expect(p.code).toBe(0)
    expect(JSON.parse(p.stdout).pools.map((x: { name: string }) => x.name)).toEqual(['big'])
  })

  it('a pool this host can give is valid, with the plan as before', async () => {
    const fits = workflow('local', '      workers: 1\n      resources:\n        cpus: 1')
    expect((await cli(['validate', 'wf.yaml'], fits)).code).toBe(0)
    const p = await cli(['plan', 'wf.yaml', '--json'], fits)
    expect(p.code).toBe(0)
    expect(JSON.parse(p.stdout).strategy).toBe('local')
  })

  it('an op nobody registered is said once, by the compiler, at the op', async () => {
    const r = await cli(['validate', 'wf.yaml'], 'analysis:\n  stages:\n    - id: A\n      op: custom.thing\n')
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('wf.yaml:4:11: warning unknown-op')
    expect(r.stderr).not.toContain('unregistered-op')
  })

  it('the help names --no-site', async () => {
    for (const c of ['validate', 'plan']) expect((await cli([c, '--help'], '')).stdout).toContain('--no-site')
  })
})

describe('a partition the Slurm cluster lacks (the real local Slurm)', () => {
  beforeAll(() => ensureSlurm())

  // line 14: the `partition` key of pool `big`
  const NO_PARTITION = workflow('slurm', '      workers: 1\n      config:\n        partition: no-such-partition')

  it('validate reports it at config.partition with the composer code, and --no-site skips it', async () => {
    const composer = await previewSubmissions(NO_PARTITION)
    const expected = composer.siteProblems.filter((p) => p.severity === 'error')
    expect(expected.length).toBeGreaterThan(0)
    const r = await cli(['validate', 'wf.yaml', '--json'], NO_PARTITION)
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout)
    expect(out.errors.map((e: { code: string }) => e.code)).toEqual(expected.map((p) => p.code))
    expect(out.errors[0].range.start.line).toBe(15)
    expect(out.errors[0].message).toContain('no-such-partition')
    expect((await cli(['validate', 'wf.yaml', '--no-site'], NO_PARTITION)).code).toBe(0)
  })
})
