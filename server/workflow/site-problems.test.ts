/**
 * A plan this host cannot run is not "ok": the local strategy's real preflight (this host's
 * capacity) turned into compile problems at the pool that asks too much.
 */
import { describe, expect, it } from 'vitest'
import { preflightLocal } from '../execution/strategies/local.ts'
import { compileWorkflow } from './index.ts'
import { siteProblemsAsCompileProblems } from './site-problems.ts'

const YAML = `analysis:
  stages:
    - { id: Train, op: noop, execution: { require: gpu } }
execution:
  pools:
    gpu: { workers: 1, resources: { gpus: 64, memory: 4GB } }
`

describe('site feasibility as compile problems', () => {
  it('a pool this host cannot give is an error at the resource it asks for, with the preflight message and hint', () => {
    const compiled = compileWorkflow(YAML)
    expect(compiled.ok).toBe(true) // the language is fine ...
    const site = preflightLocal(compiled.plan!, { cpus: 2, memoryBytes: 8 * 2 ** 30, gpus: 0, diskBytes: null })
    const problems = siteProblemsAsCompileProblems(YAML, site)
    // ... but not on this host
    expect(problems.length).toBeGreaterThan(0)
    const gpu = problems.find((p) => /GPU/.test(p.message))!
    expect(gpu).toMatchObject({ severity: 'error' })
    expect(gpu.message).toMatch(/^on this site: pool 'gpu' needs 64 GPUs per worker/)
    // at the resource asked for
    expect([gpu.range.start.line, gpu.range.start.col]).toEqual([6, 37])
  })

  it('a problem naming a config key is placed at that key; without a pool, at execution', () => {
    const yaml = `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  strategy: slurm\n  pools:\n    default: { workers: 1, config: { partition: nope } }\n`
    const [a, b] = siteProblemsAsCompileProblems(yaml, [
      {
        code: 'slurm-invalid-partition',
        severity: 'error',
        pool: 'default',
        message: "partition 'nope' does not exist",
        path: 'execution.pools.default.config.partition',
      },
      { code: 'credential-missing', severity: 'error', pool: null, message: 'no X509 proxy found' },
    ])
    expect([a!.range.start.line, a!.range.start.col]).toEqual([6, 38])
    expect([b!.range.start.line, b!.range.start.col]).toEqual([3, 1])
  })
})
