/**
 * fasthep-flow's own test inputs (__fixtures__/fasthep-flow/inputs.ts) through the compiler: what
 * fasthep-flow accepts is accepted with the same meaning, what it refuses is refused at the value;
 * and Dask's own config keys are honoured or refused, never dropped. The same inputs go through
 * the CLI in server/cli/commands/plan-fasthep-flow.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { ACCEPTED, GPU_CLASSES, inputText, pool, REFUSED, toy } from './__fixtures__/fasthep-flow/inputs.ts'
import { compileWorkflow } from './index.ts'
import type { CompileResult } from './index.ts'

const errorCodes = (r: CompileResult) => r.problems.filter((p) => p.severity === 'error').map((p) => p.code)

describe("fasthep-flow's test inputs that it accepts: the same meaning here", () => {
  for (const c of ACCEPTED) {
    it(c.test, () => {
      const r = compileWorkflow(inputText(c))
      expect(errorCodes(r)).toEqual([])
      c.meaning(r.plan!)
    })
  }

  it('test_stage_execution_unknown_resource_class_errors: a warning here on purpose (README), the stage on the default pool', () => {
    const r = compileWorkflow(toy(GPU_CLASSES, '{ prefer: missing }'))
    expect(errorCodes(r)).toEqual([])
    expect(r.problems.map((p) => p.code)).toContain('prefer-unavailable')
    expect(r.plan!.stages[0]!.pool).toBe('default')
  })

  it('test_htcondor: log_directory is refused on purpose (README), with where the logs are', () => {
    const r = compileWorkflow(
      toy(
        '{ backend: dask, strategy: htcondor, config: { workers: 20, queue: workday, log_directory: debug/dask/htcondor } }',
      ),
    )
    expect(errorCodes(r)).toEqual(['unsupported-option'])
    expect(r.problems.find((p) => p.code === 'unsupported-option')!.hint).toMatch(/run page/)
  })
})

describe("fasthep-flow's test inputs that it refuses: refused here, at the value", () => {
  for (const c of REFUSED) {
    it(c.test, () => {
      const r = compileWorkflow(inputText(c))
      expect(errorCodes(r)).toEqual(c.codes)
    })
  }

  it("the modifier messages say what is wrong, as fasthep-flow's do", () => {
    const msg = (stage: string) => compileWorkflow(toy('', stage)).problems.find((p) => p.severity === 'error')!.message
    expect(msg('{ modifiers: [{ params: {} }] }')).toBe("'name' is required")
    expect(msg('{ modifiers: [{ name: 1 }] }')).toBe("'name' must be a string, got number 1")
    expect(msg('{ modifiers: [{ name: gpu.preload, params: [] }] }')).toBe("'params' must be a mapping, got a list")
  })
})

describe("Dask's own config keys: honoured or refused, never dropped", () => {
  const dask = (config: string, pools = '') =>
    compileWorkflow(toy(`{ backend: dask, strategy: local, config: ${config}${pools ? `, pools: ${pools}` : ''} }`))

  it('what the workers cannot be is refused at the value, with a hint', () => {
    const r = dask(
      '{ threads_per_worker: 2, processes: false, adaptive: { minimum: 1 }, worker_options: {}, memory_limit: lots }',
    )
    expect(r.problems.filter((p) => p.severity === 'error').map((p) => `${p.code} ${p.message.split(':')[0]}`)).toEqual(
      [
        "unsupported-option 'threads_per_worker",
        "unsupported-option 'processes",
        "unsupported-option 'adaptive' is not supported",
        "unsupported-option 'worker_options' is not supported",
        'invalid-memory cannot read memory_limit',
      ],
    )
    expect(r.problems.every((p) => p.severity !== 'error' || p.hint)).toBe(true)
  })

  it('a config key nothing reads is a warning at the key (with the spelling meant); a run-wide key in a pool says where it works', () => {
    const r = compileWorkflow(
      toy(
        '{ strategy: slurm, config: { parition: short }, pools: { default: { workers: 1, config: { scheduler_host: h } } } }',
      ),
    )
    const warn = r.problems.filter((p) => p.code === 'unknown-option')
    expect(warn.map((p) => p.message)).toEqual([
      "'parition' is read by nothing in Control Room: it would be ignored",
      "'scheduler_host' applies to the whole run: in a pool's config nothing reads it, so it would be ignored",
    ])
    expect(warn[0]!.hint).toMatch(/partition/)
    expect(warn[1]!.hint).toBe('move it to execution.config')
  })

  it('account under HTCondor is the accounting group (as the schema says), not dropped', () => {
    const r = compileWorkflow(toy('{ strategy: htcondor, config: { account: cms } }'))
    expect(errorCodes(r)).toEqual([])
    expect(pool(r.plan!, 'default').config).toEqual({ accounting_group: 'cms' })
  })
})

describe('pool keys kept as metadata say so', () => {
  it("a pool's use: is a warning at the key naming how site settings do apply", () => {
    const r = compileWorkflow(toy('{ strategy: slurm, pools: { default: { workers: 1, use: highmem } } }'))
    expect(r.problems.filter((p) => p.code === 'pool-use-metadata').map((p) => [p.severity, p.hint])).toEqual([
      [
        'warning',
        "name the pool 'highmem' to get the site's settings for it (site slurm.pools.highmem), or remove 'use'",
      ],
    ])
  })
})
