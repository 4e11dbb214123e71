import { describe, expect, it } from 'vitest'
import { must } from '../must.ts'
import type { ExecutionPlan, PlanStage } from '../workflow/types.ts'
import { checkOps, loadOpFamilies, registerOp, resolveOpDefinition, substitute } from './ops.ts'
import { buildDispatch } from './spec.ts'
import { contractPlan } from './strategies/contract.ts'

function stageOf(plan: ExecutionPlan, i: number): PlanStage {
  return must(plan.stages[i], `stage ${i} of the plan`)
}

function planWith(stages: Partial<PlanStage>[], ops: ExecutionPlan['registry']['ops'] = {}): ExecutionPlan {
  const base = contractPlan([
    {
      name: 'default',
      workers: 1,
      resources: { cpus: 1, memoryBytes: 2 ** 30, gpus: 0, diskBytes: null },
      resourceClass: null,
      config: {},
      implicit: false,
      stages: [],
    },
  ])
  const s0 = stageOf(base, 0)
  return {
    ...base,
    stages: stages.map((s, i) => ({ ...s0, id: `S${i}`, index: i, ...s }) as PlanStage),
    registry: { ops },
  }
}

const ctx = (plan: ExecutionPlan, i = 0) => ({
  plan,
  stage: stageOf(plan, i),
  runId: 'r1',
  taskId: 't1',
  runDir: '/runs/r1',
  taskDir: '/runs/r1/tasks/t1',
  attempt: 0,
  partition: null,
})

describe('op registry', () => {
  it('resolves shell argv and command strings', () => {
    const plan = planWith([
      { op: 'shell', params: { argv: ['echo', 'a b'] } },
      { op: 'shell', params: { command: 'echo $HOME | wc -c', env: { A: 1 } } },
    ])
    expect(resolveOpDefinition(plan, 'shell')!.resolve(ctx(plan, 0)).argv).toEqual(['echo', 'a b'])
    const r = resolveOpDefinition(plan, 'shell')!.resolve(ctx(plan, 1))
    expect(r.argv).toEqual(['/bin/sh', '-c', 'echo $HOME | wc -c'])
    expect(r.env).toEqual({ A: '1' })
  })

  it('runs python module:function through the shim with the environment python', () => {
    const plan = {
      ...planWith([{ op: 'python', params: { module: 'pkg.mod:fn', args: [1], kwargs: { k: 'v' } } }]),
      config: { python: '/opt/py/bin/python' },
    }
    const r = resolveOpDefinition(plan, 'python')!.resolve(ctx(plan))
    expect(r.argv[0]).toBe('/opt/py/bin/python')
    expect(r.argv[1]).toMatch(/pyshim\.py$/)
    expect(r.argv.slice(2)).toEqual(['call', 'pkg.mod:fn', JSON.stringify({ args: [1], kwargs: { k: 'v' } })])
  })

  it('custom ops: argv elements get values as text, shell text gets them through variables', () => {
    const plan = planWith([{ op: 'custom.build', params: { input: 'a file.root', n: 3 } }], {
      'custom.build': { command: ['build', '--in', '{input}', '--n={n}', '{task_dir}'] },
      build2: { command: 'build --in {input}' },
    })
    expect(resolveOpDefinition(plan, 'custom.build')!.resolve(ctx(plan)).argv).toEqual([
      'build',
      '--in',
      'a file.root',
      '--n=3',
      '/runs/r1/tasks/t1',
    ])
    const p2 = { ...plan, stages: [{ ...stageOf(plan, 0), op: 'custom.build2' }] }
    const r2 = resolveOpDefinition(p2, 'custom.build2')!.resolve(ctx(p2))
    expect(r2.argv).toEqual(['/bin/sh', '-c', 'build --in "${CR_P_input}"'])
    expect(r2.env).toMatchObject({ CR_P_input: 'a file.root' })
    expect(substitute('x {a}', { a: "it's" })).toBe("x it's")
  })

  it('refuses unregistered ops and custom ops with unknown placeholders before dispatch', () => {
    const plan = planWith(
      [{ op: 'custom.nope' }, { op: 'custom.half', params: {} }, { op: 'shell', params: {} }, { op: 'noop' }],
      { 'custom.half': { command: ['x', '{missing}'] } },
    )
    const problems = checkOps(plan)
    expect(problems.map((p) => [p.stage, p.code])).toEqual([
      ['S0', 'unregistered-op'],
      ['S1', 'bad-op-params'],
      ['S2', 'bad-op-params'],
    ])
    expect(must(problems[0], 'a problem').message).toMatch(/op 'custom.nope' is not registered/)
  })

  it('accepts ops registered by other modules (the hep.* registration point)', () => {
    registerOp({ name: 'test.echo', resolve: () => ({ argv: ['echo', 'hi'] }) })
    expect(checkOps(planWith([{ op: 'test.echo' }]))).toEqual([])
  })

  it('applies modifiers to the spec (env, collectors, metadata)', () => {
    const plan = planWith([
      {
        op: 'shell',
        params: { command: 'true' },
        modifiers: [
          { name: 'gpu.preload', params: { device: 1 } },
          { name: 'cuda.jit', params: {} },
          { name: 'profile', params: {} },
          { name: 'diagnostics', params: {} },
        ],
      },
    ])
    const d = buildDispatch({
      plan,
      stage: stageOf(plan, 0),
      runId: 'r',
      runDir: '/tmp/r',
      taskId: 't',
      attempt: 0,
      partition: null,
      inputs: {},
    })
    expect(d.spec.env).toMatchObject({ FASTHEP_GPU_PRELOAD: '1', CONTROLROOM_GPU_DEVICE: '1', FASTHEP_CUDA_JIT: '1' })
    expect(d.spec.collect).toMatchObject({ profile: true, diagnostics: true })
    expect(d.spec.metadata.gpuPreload).toEqual({ device: 1 })
    expect(d.inProcess).toBe(false)
  })

  it('noop runs in-process unless execution.config.noop is process', () => {
    const plan = planWith([{ op: 'noop' }])
    expect(
      buildDispatch({
        plan,
        stage: stageOf(plan, 0),
        runId: 'r',
        runDir: '/tmp/r',
        taskId: 't',
        attempt: 0,
        partition: null,
        inputs: {},
      }).inProcess,
    ).toBe(true)
    const p2 = { ...plan, config: { noop: 'process' } }
    expect(
      buildDispatch({
        plan: p2,
        stage: stageOf(p2, 0),
        runId: 'r',
        runDir: '/tmp/r',
        taskId: 't',
        attempt: 0,
        partition: null,
        inputs: {},
      }).inProcess,
    ).toBe(false)
  })
})

describe('installed op families (ops/installed.ts)', () => {
  // in this order: the family, once loaded, stays registered in this process
  it('a plan without hep.* ops does not load the hep family', async () => {
    await loadOpFamilies(planWith([{ op: 'shell', params: { argv: ['true'] } }]))
    const hep = planWith([{ op: 'hep.hist', params: {} }])
    expect(resolveOpDefinition(hep, 'hep.hist')).toBeNull()
    expect(checkOps(hep).map((p) => p.code)).toEqual(['unregistered-op'])
  })

  it('a hep.* op resolves once a plan that uses it has loaded its family through the registry', async () => {
    const plan = planWith([{ op: 'hep.hist', params: {} }])
    await loadOpFamilies(plan)
    expect(resolveOpDefinition(plan, 'hep.hist')).not.toBeNull()
    expect(checkOps(plan).map((p) => p.code)).not.toContain('unregistered-op')
  })
})
