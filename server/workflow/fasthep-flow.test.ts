/**
 * fasthep-flow's language, read with fasthep-flow's meaning (its own test inputs are in
 * __fixtures__/fasthep-flow, BSD-3), and the places where a value used to be accepted and then
 * quietly dropped or changed.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stageDatasets } from '../execution/ops/hep-shared.ts'
import { compileWorkflow } from './index.ts'
import type { CompileResult } from './index.ts'
import { brief, y } from './testutil.ts'

const FIXTURES = join(import.meta.dirname, '__fixtures__/fasthep-flow')
const fixture = (f: string) => readFileSync(join(FIXTURES, f), 'utf8')
const errors = (r: CompileResult) => r.problems.filter((p) => p.severity === 'error').map(brief)
const pool = (r: CompileResult, name: string) => r.plan!.pools.find((p) => p.name === name)!

describe("fasthep-flow's own inputs", () => {
  it('its toy workflow compiles (its ops are not ours: a warning, not an error)', () => {
    const r = compileWorkflow(fixture('toy_workflow.yaml'))
    expect(errors(r)).toEqual([])
    expect(r.problems.map((p) => p.code)).toEqual(['unknown-op'])
  })

  it('its htcondor execution block: config.workers sets the default pool, walltime and queue reach it', () => {
    const r = compileWorkflow(fixture('htcondor_execution.yaml'))
    expect(errors(r)).toEqual([])
    const d = pool(r, 'default')
    expect(d.workers).toBe(100)
    expect(d.resourceClass).toBe('default')
    expect(d.config).toMatchObject({ queue: 'workday', walltimeSeconds: 7200 })
  })
})

describe('counts and sizes', () => {
  it('workers: "2" is two workers, in a pool and in execution.config', () => {
    const r = compileWorkflow(y`
      analysis:
        stages: [{ id: A, op: noop }, { id: B, op: noop, execution: { require: big } }]
      execution:
        config: { n_workers: "3" }
        pools:
          default: { workers: 1 }
          big: { workers: "2" }
    `)
    expect(errors(r)).toEqual([])
    // fasthep-flow: config.n_workers is the default pool's, over the pool's own
    expect([pool(r, 'default').workers, pool(r, 'big').workers]).toEqual([3, 2])
  })

  it('n_workers with declared pools and none named default says where it went', () => {
    const r = compileWorkflow(y`
      analysis:
        stages: [{ id: A, op: noop, execution: { require: cpu } }]
      execution:
        config: { n_workers: 4 }
        pools:
          cpu: { workers: 1 }
    `)
    expect(r.problems.map(brief)).toEqual(['4:13 warning workers-without-default-pool'])
  })

  it('memory: 0, cpus: 0.5 and an empty pool name are errors at their place', () => {
    const r = compileWorkflow(y`
      analysis:
        stages: [{ id: A, op: noop }]
      execution:
        pools:
          default: { resources: { cpus: 0.5, memory: 0 } }
          "": { workers: 1 }
    `)
    expect(errors(r)).toEqual(['5:35 error invalid-cpus', '5:48 error invalid-memory', '6:5 error invalid-name'])
  })
})

describe('datasets', () => {
  it('data.datasets as a mapping keyed by name, and the top-level datasets include first', () => {
    const r = compileWorkflow(y`
      datasets:
        zz: { files: [zz.root], eventtype: mc }
      data:
        datasets:
          dy: { files: [dy.root], eventtype: data }
      analysis:
        stages: [{ id: A, op: noop }]
    `)
    expect(errors(r)).toEqual([])
    expect(r.plan!.datasets).toEqual([
      { name: 'zz', files: ['zz.root'], eventtype: 'mc' },
      { name: 'dy', files: ['dy.root'], eventtype: 'data' },
    ])
    expect(r.plan!.passthrough.datasets).toBeUndefined()
  })

  it('a name used in both is a duplicate', () => {
    const r = compileWorkflow(y`
      datasets:
        zz: { files: [a.root] }
      data:
        datasets:
          - { name: zz, files: [b.root] }
      analysis:
        stages: [{ id: A, op: noop }]
    `)
    expect(errors(r)).toEqual(['5:9 error duplicate-dataset'])
  })

  it('applies_to on a hep stage keeps the matching datasets; matching none is an error', () => {
    const text = (eventtype: string) => y`
      data:
        datasets:
          zz: { files: [zz.root], eventtype: mc }
          dy: { files: [dy.root], eventtype: data }
      analysis:
        stages:
          - id: H
            op: hep.hist
            applies_to: { eventtype: ${eventtype} }
            params: { expression: x, bins: 10, range: [0, 1] }
    `
    const r = compileWorkflow(text('mc'))
    expect(errors(r)).toEqual([])
    expect(r.plan!.stages[0]!.appliesTo).toEqual({ eventtype: 'mc' })
    // the hep ops read only those: one task per partition of zz, none of dy
    expect(stageDatasets(r.plan!.stages[0]!, r.plan!)).toEqual(['zz'])
    const none = compileWorkflow(text('data').replace('eventtype: data }', 'eventtype: mc }'))
    expect(errors(none)).toEqual(['9:7 error applies-to-nothing'])
  })
})

describe('resource classes and pools', () => {
  it('a class required with pools: {} runs on an implicit pool of that class', () => {
    const r = compileWorkflow(y`
      analysis:
        stages: [{ id: Train, op: noop, execution: { require: gpu } }]
      execution:
        resources:
          gpu: { gpus: 1, memory: 8GB }
        pools: {}
    `)
    expect(errors(r)).toEqual([])
    expect(r.plan!.stages[0]!.pool).toBe('gpu')
    expect(pool(r, 'gpu')).toMatchObject({ implicit: true, resourceClass: 'gpu', workers: 1 })
    expect(pool(r, 'gpu').resources.gpus).toBe(1)
    expect(r.plan!.stages[0]!.routing.reason).toMatch(/implicit pool 'gpu'/)
  })
})

describe('dask-jobqueue keys: honoured or refused, never dropped', () => {
  const text = (strategy: string, backend: string, config: string) => y`
    analysis:
      stages: [{ id: A, op: noop }]
    execution:
      backend: ${backend}
      strategy: ${strategy}
      pools:
        default: { workers: 1, config: ${config} }
  `

  it('queue is the Slurm partition; job_extra_directives join extra', () => {
    const r = compileWorkflow(text('slurm', 'local', '{ queue: short, job_extra_directives: ["--exclusive"] }'))
    expect(errors(r)).toEqual([])
    expect(pool(r, 'default').config).toEqual({ partition: 'short', extra: ['--exclusive'] })
  })

  it('queue under HTCondor stays the JobFlavour', () => {
    const r = compileWorkflow(text('htcondor', 'local', '{ queue: workday }'))
    expect(pool(r, 'default').config).toEqual({ queue: 'workday' })
  })

  it('execution.config keys reach every pool, the pool wins', () => {
    const r = compileWorkflow(y`
      analysis:
        stages: [{ id: A, op: noop }, { id: B, op: noop, execution: { require: big } }]
      execution:
        strategy: slurm
        config: { queue: short, walltime: 30m }
        pools:
          default: { workers: 1 }
          big: { workers: 1, config: { partition: long } }
    `)
    expect(errors(r)).toEqual([])
    expect(pool(r, 'default').config).toMatchObject({ partition: 'short', walltimeSeconds: 1800 })
    expect(pool(r, 'big').config).toMatchObject({ partition: 'long', walltimeSeconds: 1800 })
  })

  it('worker_extra_args without Dask, and log_directory, are refused with a hint', () => {
    const r = compileWorkflow(
      text('slurm', 'local', '{ worker_extra_args: ["--lifetime", "1h"], log_directory: logs }'),
    )
    expect(errors(r)).toEqual(['7:38 error dask-only-option', '7:79 error unsupported-option'])
    expect(r.problems.find((p) => p.code === 'unsupported-option')!.hint).toMatch(/run page/)
    const dask = compileWorkflow(text('slurm', 'dask', '{ worker_extra_args: ["--lifetime", "1h"] }'))
    expect(errors(dask)).toEqual([])
    expect(pool(dask, 'default').config.worker_extra_args).toEqual(['--lifetime', '1h'])
  })
})

describe('YAML that used to be half read', () => {
  it('a second document is an error at its ---, not dropped', () => {
    const r = compileWorkflow('analysis:\n  stages: [{ id: A, op: noop }]\n---\nanalysis:\n  stages: []\n')
    expect(errors(r)).toEqual(['3:1 error multiple-documents'])
  })

  it('a duplicate key names its whole path', () => {
    const r = compileWorkflow(y`
      analysis:
        stages:
          - id: A
            op: noop
      execution:
        pools:
          cpu:
            workers: 1
            workers: 2
    `)
    expect(r.problems.map((p) => p.message)).toEqual(["duplicate key 'execution.pools.cpu.workers' in this mapping"])
  })

  it('a stage id with control characters is refused at the id', () => {
    const r = compileWorkflow('analysis:\n  stages:\n    - id: "A\\u001b[2Jx"\n      op: noop\n')
    expect(errors(r)).toEqual(['3:11 error invalid-stage-id'])
  })
})

describe('modifiers say what they do, and nothing runs that cannot', () => {
  const withModifier = (m: string, registry = '') =>
    `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution: { modifiers: [${m}] }\n${registry}`

  it('cache is refused with what to do instead (it never reused outputs)', () => {
    const r = compileWorkflow(withModifier('cache'))
    expect(errors(r)).toEqual(['5:32 error unsupported-modifier'])
    expect(r.problems[0]!.hint).toMatch(/Rerun from here/)
  })

  it('a modifier registered under registry.modifiers is refused at validate time, not at run time', () => {
    const r = compileWorkflow(
      withModifier('timing.wall', 'registry:\n  modifiers:\n    timing.wall: { description: wall time }\n'),
    )
    expect(errors(r)).toEqual(['5:32 error unimplemented-modifier'])
  })

  it('gpu.preload and cuda.jit describe exactly what they do: environment variables', async () => {
    const { KNOWN_MODIFIERS } = await import('./catalog.ts')
    const { getModifier } = await import('../execution/modifiers.ts')
    for (const name of ['gpu.preload', 'cuda.jit']) {
      expect(KNOWN_MODIFIERS.find((m) => m.name === name)!.description).toMatch(/^Sets FASTHEP_\w+=1 .*environment/)
      expect(getModifier(name)!.description).toMatch(/^sets .*environment; nothing else/)
    }
  })
})
