/**
 * use.profiles, resolved in fasthep-flow's order (built-in defaults < profiles in expanded order <
 * the workflow's own execution < an override), with the provenance of each value in the plan.
 */
import { describe, expect, it } from 'vitest'
import { compileWorkflow } from './index.ts'

const at = (r: ReturnType<typeof compileWorkflow>, code: string) => {
  const p = r.problems.find((x) => x.code === code)!
  return `${p.range.start.line}:${p.range.start.col} ${p.severity} ${p.code}`
}

describe('use.profiles', () => {
  it('dask_local sets backend, strategy and config; the workflow overrides what it sets itself', () => {
    const r = compileWorkflow(
      'use:\n  profiles: [dask_local]\nanalysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  config:\n    workers: 2\n',
    )
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
    const plan = r.plan!
    expect(plan.backend).toBe('dask')
    expect(plan.strategy).toBe('local')
    // config merges by key: the profile's memory_limit stays, the workflow's workers wins
    expect(plan.config).toMatchObject({ workers: 2, memory_limit: '4GB', threads_per_worker: 1 })
    expect(plan.pools.find((p) => p.name === 'default')?.workers).toBe(2)
    expect(plan.provenance).toEqual({
      layers: [
        { name: 'builtin', kind: 'builtin-defaults' },
        { name: 'dask_local', kind: 'builtin' },
        { name: 'workflow', kind: 'workflow' },
      ],
      values: {
        'execution.backend': 'profile:dask_local',
        'execution.strategy': 'profile:dask_local',
        'execution.config.workers': 'workflow',
        'execution.config.threads_per_worker': 'profile:dask_local',
        'execution.config.processes': 'profile:dask_local',
        'execution.config.memory_limit': 'profile:dask_local',
        'execution.config.dashboard_address': 'profile:dask_local',
      },
    })
  })

  it('a later layer wins: the workflow backend over the profile; an override over both', () => {
    const yaml =
      'use: { profiles: [dask_local] }\nanalysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  backend: local\n'
    const r = compileWorkflow(yaml)
    expect(r.plan!.backend).toBe('local')
    expect(r.plan!.provenance!.values['execution.backend']).toBe('workflow')
    expect(compileWorkflow(yaml, { overrides: { strategy: 'slurm' } }).plan!.strategy).toBe('slurm')
  })

  it('includes expand depth-first (hep = basic -> registry, and package registries), no execution values', () => {
    const r = compileWorkflow('use: { profiles: [hep] }\nanalysis:\n  stages: [{ id: A, op: noop }]\n')
    expect(r.plan!.provenance!.layers.map((l) => l.name)).toEqual([
      'builtin',
      'registry',
      'fasthep_carpenter:registry',
      'fasthep_curator:registry',
      'fasthep_curator:default_context',
      'fasthep_render:registry',
      'workflow',
    ])
    // a package profile that is not a registry cannot be read here: said, not silently dropped
    expect(at(r, 'profile-not-applied')).toBe('1:19 warning profile-not-applied')
    expect(r.problems.find((p) => p.code === 'profile-not-applied')!.message).toContain("(included by 'hep')")
    expect(r.plan!.backend).toBe('local')
  })

  it('an unknown or project-local profile is an error at its name, with the known ones', () => {
    const r = compileWorkflow(
      'use:\n  profiles: [dask_locl, ./site.yaml]\nanalysis:\n  stages: [{ id: A, op: noop }]\n',
    )
    const errs = r.problems.filter((p) => p.code === 'profile-not-found')
    expect(errs.map((p) => `${p.range.start.line}:${p.range.start.col}`)).toEqual(['2:14', '2:25'])
    expect(errs[0]!.message).toBe("unknown profile 'dask_locl'")
    expect(errs[0]!.hint).toContain("did you mean 'dask_local'?")
    expect(errs[1]!.message).toContain('a file of the project')
    expect(r.ok).toBe(false)
  })

  it('execution.profiles selects nothing (as in fasthep-flow): a warning that points to use.profiles', () => {
    const r = compileWorkflow('analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  profiles: [dask_local]\n')
    expect(at(r, 'execution-profiles-metadata')).toBe('4:3 warning execution-profiles-metadata')
    expect(r.problems[0]!.hint).toContain('use.profiles')
    expect(r.plan!.backend).toBe('local')
    expect(r.plan!.provenance).toBeUndefined()
  })
})
