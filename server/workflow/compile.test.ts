import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { compileWorkflow, formatProblem } from './index.ts'
import type { CompileResult, ExecutionPlan } from './index.ts'
import { sortKeysDeep } from './hash.ts'
import { brief, y } from './testutil.ts'

const EX = join(import.meta.dirname, '../../examples')
const example = (f: string) => readFileSync(join(EX, f), 'utf8')

function routes(plan: ExecutionPlan | null) {
  return Object.fromEntries((plan?.stages ?? []).map((s) => [s.id, s.pool]))
}

function codes(r: CompileResult) {
  return r.problems.map(brief)
}

/** Assert a problem with this code, severity and start position exists. */
function expectProblem(
  text: string,
  code: string,
  line: number,
  col: number,
  severity: 'error' | 'warning' = 'error',
  opts = {},
) {
  const r = compileWorkflow(text, opts)
  const hit = r.problems.find((p) => p.code === code)
  expect(hit, `no ${code} in ${JSON.stringify(codes(r))}`).toBeDefined()
  expect(brief(hit!)).toBe(`${line}:${col} ${severity} ${code}`)
  expect(hit!.message.length).toBeGreaterThan(5)
  if (severity === 'error') expect(r.ok).toBe(false)
  return { result: r, problem: hit! }
}

const POOLS = y`
  execution:
    pools:
      default: { workers: 4, resources: { cpus: 1, memory: 4GB } }
      high_memory: { workers: 2, resources: { cpus: 4, memory: 64GB } }
      gpu: { workers: 1, resources: { gpus: 1, memory: 16GB } }
`

describe('examples', () => {
  it('heterogeneous: BuildIndex on high_memory, TrainModel on gpu, ProducePlots on default', () => {
    const r = compileWorkflow(example('heterogeneous.yaml'))
    expect(r.problems).toEqual([])
    expect(r.ok).toBe(true)
    const plan = r.plan!
    expect(routes(plan)).toEqual({ BuildIndex: 'high_memory', TrainModel: 'gpu', ProducePlots: 'default' })
    expect(
      plan.pools.map((p) => [p.name, p.workers, p.resources.cpus, p.resources.memoryBytes, p.resources.gpus]),
    ).toEqual([
      ['default', 20, 1, 4 * 1024 ** 3, 0],
      ['high_memory', 2, 4, 64 * 1024 ** 3, 0],
      ['gpu', 1, 1, 16 * 1024 ** 3, 1],
    ])
    expect(plan.stages.map((s) => s.needs)).toEqual([[], ['BuildIndex'], ['TrainModel']])
    expect(plan.edges).toEqual([
      { from: 'BuildIndex', kind: 'implicit', to: 'TrainModel' },
      { from: 'TrainModel', kind: 'implicit', to: 'ProducePlots' },
    ])
    expect(plan.stages[1].modifiers).toEqual([
      { name: 'gpu.preload', params: {} },
      { name: 'cuda.jit', params: {} },
    ])
    expect(plan.stages[0].routing).toMatchObject({ decision: 'require', require: 'high_memory' })
    expect(plan.stages[2].routing.decision).toBe('default')
    expect(plan.registry.ops['custom.train'].command).toEqual(['sh', '-c', 'echo training model'])
    expect(plan.backend).toBe('local')
    expect(plan.strategy).toBe('local')
    expect(plan.passthrough).toEqual({ version: 1 })
    expect(Object.keys(r.stageRanges)).toEqual(['BuildIndex', 'TrainModel', 'ProducePlots'])
    expect(r.stageRanges.BuildIndex.start.line).toBe(9)
    expect(r.stageRanges.TrainModel.start).toMatchObject({ line: 14, col: 7 })
  })

  it('dask-slurm: site config kept, walltime parsed', () => {
    const r = compileWorkflow(example('dask-slurm.yaml'))
    expect(r.problems).toEqual([])
    const plan = r.plan!
    expect([plan.backend, plan.strategy]).toEqual(['dask', 'slurm'])
    expect(routes(plan)).toEqual({
      SelectMuons: 'default',
      DefineMass: 'default',
      BuildIndex: 'high_memory',
      MassHistogram: 'default',
    })
    const hm = plan.pools.find((p) => p.name === 'high_memory')!
    expect(hm.config).toMatchObject({
      partition: 'highmem',
      walltime: '1-00:00:00',
      walltimeSeconds: 86400,
      constraint: 'highmem',
    })
    expect(plan.datasets).toEqual([
      { name: 'zmumu', eventtype: 'mc', files: ['data/uproot-Zmumu.root'], treeName: 'events' },
    ])
    expect(plan.stages.find((s) => s.id === 'BuildIndex')!.timeoutSeconds).toBe(3600)
    expect(plan.stages.find((s) => s.id === 'MassHistogram')!.needs).toEqual(['DefineMass', 'BuildIndex'])
  })

  it('dask-htcondor: environment, credential references, JobFlavour queue', () => {
    const r = compileWorkflow(example('dask-htcondor.yaml'))
    expect(r.problems).toEqual([])
    const plan = r.plan!
    expect([plan.backend, plan.strategy]).toEqual(['dask', 'htcondor'])
    expect(routes(plan)).toEqual({ SelectMuons: 'default', TrainModel: 'gpu', ProducePlots: 'default' })
    expect(plan.environment).toEqual({
      type: 'packed-pixi',
      archive_path: 'dist/environment.sh',
      environment: 'default',
      worker_env_dir: 'worker-env',
    })
    expect(plan.credentials).toEqual([
      { kind: 'x509', source: 'env', env: 'X509_USER_PROXY', required: true, minValidSeconds: 7200 },
    ])
    expect(plan.pools.find((p) => p.name === 'gpu')!.config).toMatchObject({
      queue: 'workday',
      maxruntime: '4h',
      maxruntimeSeconds: 14400,
    })
    expect(plan.stages.find((s) => s.id === 'TrainModel')!.modifiers[1]).toEqual({
      name: 'cuda.jit',
      params: { cache: true },
    })
  })

  it('fasthep-flow form: resource classes, prefer/fallback, modifiers, sources as inputs', () => {
    const r = compileWorkflow(example('fasthep-flow.yaml'))
    expect(r.problems).toEqual([])
    const plan = r.plan!
    expect(plan.strategy).toBe('local') // 'default' normalised
    expect(routes(plan)).toEqual({
      BasicVars: 'default',
      SelectDimuon: 'default',
      BuildIndex: 'bigmem',
      Inference: 'gpu',
      Calibrate: 'default',
      MuonPt: 'default',
    })
    const st = (id: string) => plan.stages.find((s) => s.id === id)!
    expect(st('BuildIndex').routing.reason).toContain("resource class 'high_memory'")
    expect(st('BuildIndex').resources).toEqual({ cpus: 8, diskBytes: null, gpus: 0, memoryBytes: 128 * 1024 ** 3 })
    expect(st('Inference').routing).toMatchObject({ decision: 'prefer', prefer: 'gpu', fallback: 'cpu' })
    expect(st('Calibrate').routing).toMatchObject({ decision: 'fallback', prefer: 'tpu', fallback: 'cpu' })
    expect(st('Calibrate').routing.reason).toMatch(/prefers 'tpu' but no pool provides it: falls back to 'cpu'/)
    expect(st('BasicVars').inputs).toEqual([{ as: null, node: 'events', port: null }])
    expect(st('BasicVars').needs).toEqual([]) // a source, not a stage
    expect(st('Inference').inputs).toEqual([{ as: 'events', node: 'SelectDimuon', port: 'events' }])
    expect(st('Inference').needs).toEqual(['SelectDimuon'])
    expect(st('SelectDimuon').timeoutSeconds).toBe(1800)
    expect(plan.pools.map((p) => [p.name, p.resourceClass, p.workers])).toEqual([
      ['default', 'cpu', 10],
      ['bigmem', 'high_memory', 2],
      ['gpu', 'gpu', 2],
    ])
    expect(plan.credentials).toEqual([{ kind: 'scitoken', source: 'env', env: 'BEARER_TOKEN_FILE', required: false }])
    expect(plan.passthrough).toMatchObject({
      version: 1,
      use: { profiles: ['registry', 'fasthep_carpenter:registry'] },
      sources: { events: { kind: 'root_tree', tree: 'events' } },
    })
  })

  it('local-quickstart: shell stages, implicit default pool from config.workers', () => {
    const r = compileWorkflow(example('local-quickstart.yaml'))
    expect(r.problems).toEqual([])
    const plan = r.plan!
    expect(plan.pools).toEqual([
      {
        config: {},
        implicit: true,
        name: 'default',
        resourceClass: null,
        resources: { cpus: 1, diskBytes: null, gpus: 0, memoryBytes: null },
        stages: ['Prepare', 'CountEvents', 'FillHistograms', 'Summarise'],
        workers: 2,
      },
    ])
    expect(plan.stages.every((s) => s.op === 'shell')).toBe(true)
    expect(plan.stages.find((s) => s.id === 'FillHistograms')).toMatchObject({ timeoutSeconds: 120, retries: 1 })
  })

  it('large-500: 500 stages in topological order, all valid', () => {
    const r = compileWorkflow(example('large-500.yaml'))
    expect(r.problems).toEqual([])
    const plan = r.plan!
    expect(plan.stages).toHaveLength(500)
    const pos = new Map(plan.stages.map((s, i) => [s.id, i]))
    for (const e of plan.edges) expect(pos.get(e.from)!).toBeLessThan(pos.get(e.to)!)
    const pools = new Set(plan.stages.map((s) => s.pool))
    expect(pools).toEqual(new Set(['default', 'high_memory', 'gpu']))
    expect(plan.edges.some((e) => e.kind === 'from')).toBe(true)
    expect(plan.edges.some((e) => e.kind === 'implicit')).toBe(true)
    expect(plan.stages.find((s) => s.id === 'Report')!.needs).toHaveLength(10)
    expect(Object.keys(r.stageRanges)).toHaveLength(500)
  })
})

describe('dependencies', () => {
  it('implicit previous stage, needs: [] breaks it, from adds edges', () => {
    const r = compileWorkflow(y`
      analysis:
        stages:
          - { id: A, op: noop }
          - { id: B, op: noop }
          - { id: C, op: noop, needs: [] }
          - { id: D, op: noop, from: "A.out" }
          - { id: E, op: noop, needs: [B], from: [{ node: C, port: p, as: x }, D] }
    `)
    expect(r.problems).toEqual([])
    const plan = r.plan!
    const needs = Object.fromEntries(plan.stages.map((s) => [s.id, s.needs]))
    expect(needs).toEqual({ A: [], B: ['A'], C: [], D: ['A'], E: ['B', 'C', 'D'] })
    expect(plan.stages.find((s) => s.id === 'D')!.inputs).toEqual([{ as: null, node: 'A', port: 'out' }])
    expect(plan.edges).toEqual([
      { from: 'A', kind: 'implicit', to: 'B' },
      { from: 'A', kind: 'from', to: 'D' },
      { from: 'B', kind: 'needs', to: 'E' },
      { from: 'C', kind: 'from', to: 'E' },
      { from: 'D', kind: 'from', to: 'E' },
    ])
    // the implicit default pool (1 worker, 1 cpu)
    expect(plan.pools).toHaveLength(1)
    expect(plan.pools[0]).toMatchObject({ name: 'default', implicit: true, workers: 1, resources: { cpus: 1 } })
  })

  it('routes to an implicit default pool when pools are declared without one; require: default works', () => {
    const r = compileWorkflow(y`
      analysis:
        stages:
          - { id: A, op: noop }
          - { id: B, op: noop, needs: A, execution: { require: default } }
          - { id: C, op: noop, execution: { require: gpu } }
      execution:
        config: { workers: 3 }
        pools:
          gpu: { workers: 1, resources: { gpus: 1 } }
    `)
    expect(r.problems).toEqual([])
    expect(routes(r.plan)).toEqual({ A: 'default', B: 'default', C: 'gpu' })
    expect(r.plan!.pools.map((p) => [p.name, p.implicit, p.workers, p.stages])).toEqual([
      ['default', true, 3, ['A', 'B']],
      ['gpu', false, 1, ['C']],
    ])
    expect(r.plan!.stages.find((s) => s.id === 'B')!.needs).toEqual(['A'])
  })

  it('orders stages topologically with ties in source order', () => {
    const r = compileWorkflow(y`
      analysis:
        stages:
          - { id: Late, op: noop, needs: [Early2] }
          - { id: Early1, op: noop, needs: [] }
          - { id: Early2, op: noop, needs: [] }
          - { id: Other, op: noop, needs: [] }
    `)
    expect(r.plan!.stages.map((s) => s.id)).toEqual(['Early1', 'Early2', 'Late', 'Other'])
    expect(r.plan!.stages.map((s) => s.index)).toEqual([1, 2, 0, 3])
  })

  it('names a cycle A → B → C → A and still returns a plan', () => {
    const text = y`
      analysis:
        stages:
          - id: A
            op: noop
            needs: [C]
          - id: B
            op: noop
          - id: C
            op: noop
            needs: [B]
    `
    const { result, problem } = expectProblem(text, 'cycle', 5, 15)
    expect(problem.message).toBe('dependency cycle: A → B → C → A')
    expect(result.plan!.stages.map((s) => s.id)).toEqual(['A', 'B', 'C'])
  })

  it('reports every cycle once', () => {
    const r = compileWorkflow(y`
      analysis:
        stages:
          - { id: A, op: noop, needs: [B] }
          - { id: B, op: noop, needs: [A] }
          - { id: C, op: noop, needs: [D] }
          - { id: D, op: noop, needs: [C] }
    `)
    expect(r.problems.filter((p) => p.code === 'cycle').map((p) => p.message)).toEqual([
      'dependency cycle: A → B → A',
      'dependency cycle: C → D → C',
    ])
  })
})

describe('problems with exact positions', () => {
  it('yaml-syntax: every syntax error', () => {
    const r = compileWorkflow(
      'analysis:\n  stages:\n    - id: A\n      op: noop\n     bad: 1\nexecution: {backend: local\n',
    )
    expect(r.ok).toBe(false)
    const syntax = r.problems.filter((p) => p.code === 'yaml-syntax')
    expect(syntax.length).toBeGreaterThanOrEqual(2)
    expect(syntax.map(brief)).toEqual(['5:1 error yaml-syntax', '7:1 error yaml-syntax'])
    expect(syntax[0].hint).toMatch(/indent/)
    expect(formatProblem(syntax[0], 'wf.yaml')).toMatch(
      /^wf\.yaml:\d+:\d+: error yaml-syntax: YAML syntax error: .+ \(hint: .+\)$/,
    )
  })

  it('duplicate-key', () => {
    expectProblem('analysis:\n  stages:\n    - id: A\n      op: noop\n      op: shell\n', 'duplicate-key', 5, 7)
  })

  it('missing-stages', () => {
    expectProblem('execution:\n  backend: local\n', 'missing-stages', 1, 1)
    expect(compileWorkflow('execution:\n  backend: local\n').plan).toBeNull()
    expect(compileWorkflow('').plan).toBeNull()
    expect(compileWorkflow('- just\n- a list\n').plan).toBeNull()
  })

  it('duplicate-stage-id', () => {
    const { problem } = expectProblem(
      'analysis:\n  stages:\n    - id: A\n      op: noop\n    - id: A\n      op: noop\n',
      'duplicate-stage-id',
      5,
      11,
    )
    expect(problem.message).toContain('line 3')
  })

  it('missing-id and missing-op', () => {
    expectProblem('analysis:\n  stages:\n    - op: noop\n', 'missing-id', 3, 7)
    expectProblem('analysis:\n  stages:\n    - id: A\n', 'missing-op', 3, 7)
  })

  it('unknown-need with did-you-mean', () => {
    const { problem } = expectProblem(
      'analysis:\n  stages:\n    - id: BuildIndex\n      op: noop\n    - id: B\n      op: noop\n      needs: [BuildIndx]\n',
      'unknown-need',
      7,
      15,
    )
    expect(problem.hint).toBe("did you mean 'BuildIndex'?")
  })

  it('self-reference', () => {
    expectProblem('analysis:\n  stages:\n    - id: A\n      op: noop\n      needs: [A]\n', 'self-reference', 5, 15)
  })

  it('unknown-input', () => {
    expectProblem('analysis:\n  stages:\n    - id: A\n      op: noop\n      from: Nope.port\n', 'unknown-input', 5, 13)
  })

  it('unknown-key inside a stage and inside execution, with did-you-mean', () => {
    const a = expectProblem(
      'analysis:\n  stages:\n    - id: A\n      op: noop\n      exection: {}\n',
      'unknown-key',
      5,
      7,
    )
    expect(a.problem.hint).toMatch(/^did you mean 'execution'\?/)
    const b = expectProblem(
      'analysis:\n  stages:\n    - id: A\n      op: noop\n      execution:\n        requires: gpu\n',
      'unknown-key',
      6,
      9,
    )
    expect(b.problem.hint).toMatch(/^did you mean 'require'\?/)
    const c = expectProblem('analysis:\n  stages: []\nexecution:\n  pool: {}\n', 'unknown-key', 4, 3)
    expect(c.problem.hint).toMatch(/^did you mean 'pools'\?/)
  })

  it('unknown top-level keys pass through', () => {
    const r = compileWorkflow(
      'version: 2\nmy_extension: { a: 1 }\nsources: { events: { kind: x } }\ndefaults: { x: 1 }\nanalysis:\n  stages:\n    - { id: A, op: noop }\n',
    )
    expect(r.ok).toBe(true)
    expect(r.plan!.passthrough).toEqual({
      version: 2,
      my_extension: { a: 1 },
      sources: { events: { kind: 'x' } },
      defaults: { x: 1 },
    })
  })

  it('invalid-workers (0 or negative) and invalid-type (workers: "many")', () => {
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  pools:\n    default:\n      workers: 0\n`,
      'invalid-workers',
      6,
      16,
    )
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  pools:\n    default:\n      workers: -3\n`,
      'invalid-workers',
      6,
      16,
    )
    const t = expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  pools:\n    default:\n      workers: "many"\n`,
      'invalid-workers',
      6,
      16,
    )
    expect(t.problem.message).toMatch(/whole number of workers/)
  })

  it('invalid-memory and invalid-duration', () => {
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  pools:\n    default:\n      resources: { memory: 4 GBs }\n`,
      'invalid-memory',
      6,
      28,
    )
    expectProblem(
      `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution:\n        timeout: 5 parsecs\n`,
      'invalid-duration',
      6,
      18,
    )
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  strategy: slurm\n  pools:\n    default:\n      config: { walltime: "99:99" }\n`,
      'invalid-duration',
      7,
      27,
    )
  })

  it('unknown-resource-class', () => {
    const { problem } = expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  resources:\n    gpu: { gpus: 1 }\n  pools:\n    default:\n      resources: gpuu\n`,
      'unknown-resource-class',
      8,
      18,
    )
    expect(problem.hint).toMatch(/did you mean 'gpu'\?/)
  })

  it("unknown-pool: no pool provides 'high_mem'; did you mean 'high_memory'?", () => {
    const { problem, result } = expectProblem(
      `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution:\n        require: high_mem\n${POOLS}`,
      'unknown-pool',
      6,
      18,
    )
    expect(problem.message).toBe("no pool provides 'high_mem'; did you mean 'high_memory'?")
    expect(result.plan!.stages[0].pool).toBe('default')
  })

  it('unknown-pool for a declared class no pool uses', () => {
    const { problem } = expectProblem(
      `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution: { require: gpu }\nexecution:\n  resources:\n    gpu: { gpus: 1 }\n  pools:\n    cpu: { workers: 2 }\n`,
      'unknown-pool',
      5,
      29,
    )
    expect(problem.message).toContain('no pool uses it')
  })

  it('require-and-prefer', () => {
    expectProblem(
      `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution:\n        require: gpu\n        prefer: gpu\n${POOLS}`,
      'require-and-prefer',
      7,
      9,
    )
  })

  it('prefer without a provider or fallback goes to the default pool with a warning', () => {
    const { result } = expectProblem(
      `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution: { prefer: tpu }\n${POOLS}`,
      'prefer-unavailable',
      5,
      28,
      'warning',
    )
    expect(result.ok).toBe(true)
    expect(result.plan!.stages[0].routing).toMatchObject({ decision: 'default', prefer: 'tpu', fallback: null })
    expect(result.plan!.stages[0].pool).toBe('default')
    expect(result.plan!.warnings.map((w) => w.code)).toEqual(['prefer-unavailable'])
  })

  it('gpu-pool-without-gpus (warning)', () => {
    expectProblem(
      `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution: { require: gpu }\nexecution:\n  pools:\n    gpu: { workers: 1, resources: { cpus: 2 } }\n`,
      'gpu-pool-without-gpus',
      5,
      29,
      'warning',
    )
  })

  it('gpu-modifier-on-cpu-pool (warning), unknown-modifier and duplicate-modifier (errors)', () => {
    const text = `analysis:\n  stages:\n    - id: A\n      op: noop\n      execution:\n        modifiers: [gpu.preload, profile, cuda.jitt, profile]\n${POOLS}`
    expectProblem(text, 'gpu-modifier-on-cpu-pool', 6, 21, 'warning')
    const u = expectProblem(text, 'unknown-modifier', 6, 43)
    expect(u.problem.hint).toMatch(/^did you mean 'cuda.jit'\?/)
    expectProblem(text, 'duplicate-modifier', 6, 54)
  })

  it('dask-only-option under the local backend (warning)', () => {
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  backend: local\n  config:\n    scheduler_address: tcp://h:8786\n`,
      'dask-only-option',
      6,
      5,
      'warning',
    )
    expect(
      compileWorkflow(
        `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  backend: dask\n  config:\n    scheduler_address: tcp://h:8786\n`,
      ).problems,
    ).toEqual([])
  })

  it("walltime in an HTCondor pool is accepted, as fasthep-flow does (the job's +MaxRuntime)", () => {
    const r = compileWorkflow(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  strategy: htcondor\n  pools:\n    default:\n      config:\n        walltime: "02:00:00"\n`,
    )
    expect(r.problems).toEqual([])
    expect(r.plan!.pools[0]!.config.walltimeSeconds).toBe(7200)
  })

  it('invalid-value for backend and strategy, with did-you-mean', () => {
    const { problem } = expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  backend: dsak\n`,
      'invalid-value',
      4,
      12,
    )
    expect(problem.hint).toBe("did you mean 'dask'?")
    expectProblem(`analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  strategy: slrum\n`, 'invalid-value', 4, 13)
  })

  it('unknown-op: warning while editing, error with forRun, hint shows registry.ops', () => {
    const text = `analysis:\n  stages:\n    - id: A\n      op: custom.thing\n`
    const w = expectProblem(text, 'unknown-op', 4, 11, 'warning')
    expect(w.result.ok).toBe(true)
    expect(w.problem.hint).toContain('registry')
    const e = expectProblem(text, 'unknown-op', 4, 11, 'error', { forRun: true })
    expect(e.result.ok).toBe(false)
    expect(compileWorkflow(`analysis:\n  stages:\n    - id: A\n      op: hep.hsit\n`).problems[0].hint).toMatch(
      /^did you mean 'hep.hist'\?/,
    )
  })

  it('invalid-op-spec', () => {
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: my.op }]\nregistry:\n  ops:\n    my.op: { description: nothing }\n`,
      'invalid-op-spec',
      5,
      5,
    )
  })

  it('credentials: references only; secrets and conflicts are errors', () => {
    const ok = compileWorkflow(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  credentials:\n    - { kind: x509, path: /tmp/x509up_u1000, min_valid: 3600 }\n    - { kind: scitoken }\n`,
    )
    expect(ok.problems).toEqual([])
    expect(ok.plan!.credentials).toEqual([
      { kind: 'x509', source: 'path', path: '/tmp/x509up_u1000', required: true, minValidSeconds: 3600 },
      { kind: 'scitoken', source: 'discover', required: true },
    ])
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  credentials:\n    scitoken:\n      token: eyJhbGciOi\n`,
      'credential-secret',
      6,
      7,
    )
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  credentials:\n    x509: { env: X509_USER_PROXY, path: /tmp/p }\n`,
      'credential-conflict',
      5,
      35,
    )
    const secret = compileWorkflow(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  credentials:\n    scitoken: { path: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig" }\n`,
    )
    expect(secret.problems.map((p) => p.code)).toContain('credential-secret')
    expect(JSON.stringify(secret.plan)).not.toContain('eyJhbGci')
  })

  it('environment: missing archive_path and unknown keys', () => {
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  environment:\n    type: conda-pack\n`,
      'missing-field',
      5,
      5,
    )
    const r = expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  environment:\n    type: packed-pixi\n    archive_path: a.sh\n    worker_dir: x\n`,
      'unknown-key',
      7,
      5,
    )
    expect(r.problem.hint).toMatch(/^did you mean 'worker_env_dir'\?/)
    expectProblem(
      `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  environment:\n    type: nfs\n`,
      'invalid-value',
      5,
      11,
    )
  })

  it('ambiguous-pool (warning) when several pools use the class', () => {
    expectProblem(
      `analysis:\n  stages:\n    - { id: A, op: noop, execution: { require: gpu } }\nexecution:\n  resources:\n    gpu: { gpus: 1 }\n  pools:\n    g1: { resources: gpu }\n    g2: { resources: gpu }\n`,
      'ambiguous-pool',
      3,
      48,
      'warning',
    )
  })

  it('reports all problems at once, sorted by position', () => {
    const r = compileWorkflow(y`
      analysis:
        stages:
          - id: A
            op: noop
            needs: [Z]
          - id: A
            op: noop
            execution: { require: nothing }
      execution:
        backend: lokal
    `)
    expect(codes(r)).toEqual([
      '5:15 error unknown-need',
      '6:11 error duplicate-stage-id',
      '8:29 error unknown-pool',
      '10:12 error invalid-value',
    ])
  })
})

describe('plan determinism and hash', () => {
  it('same input gives byte-identical JSON and hash; keys are sorted; hash covers the plan', () => {
    for (const f of ['heterogeneous.yaml', 'fasthep-flow.yaml', 'large-500.yaml']) {
      const a = compileWorkflow(example(f)).plan!
      const b = compileWorkflow(example(f)).plan!
      const ja = JSON.stringify(a)
      expect(ja).toBe(JSON.stringify(b))
      expect(a.hash).toMatch(/^[0-9a-f]{64}$/)
      expect(ja).toBe(JSON.stringify(sortKeysDeep(a)))
      const { hash, ...rest } = JSON.parse(ja)
      expect(hash).toBe(a.hash)
      expect(
        createHash('sha256')
          .update(JSON.stringify(sortKeysDeep(rest)))
          .digest('hex'),
      ).toBe(a.hash)
      expect(JSON.parse(JSON.stringify({ ...a })).hash).toBe(a.hash)
    }
  })

  it('the hash changes when the plan changes, not when comments do', () => {
    const base = example('heterogeneous.yaml')
    const h = compileWorkflow(base).plan!.hash
    expect(compileWorkflow(base.replace('workers: 20', 'workers: 21')).plan!.hash).not.toBe(h)
    expect(compileWorkflow(base.replace('# Heterogeneous', '# A comment about heterogeneous')).plan!.hash).toBe(h)
  })

  it('the fast parser and the full YAML parser give the same result', () => {
    const base = example('fasthep-flow.yaml')
    // a folded block scalar at the end forces the full parser without moving anything above it
    const slow = compileWorkflow(base + 'notes: >\n  forces the full parser\n')
    const fast = compileWorkflow(base)
    const strip = (p: ExecutionPlan) => ({ ...JSON.parse(JSON.stringify(p)), hash: null, passthrough: null })
    expect(strip(slow.plan!)).toEqual(strip(fast.plan!))
    expect(slow.stageRanges).toEqual(fast.stageRanges)
    const bad = 'analysis:\n  stages:\n    - id: A\n      op: noop\n      needs: [B]\n'
    expect(compileWorkflow(bad).problems).toEqual(compileWorkflow(bad + 'x: >\n  y\n').problems)
  })
})

describe('backend / strategy overrides (CLI --strategy, the run dialog)', () => {
  const packed = `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  strategy: slurm\n  environment:\n    type: conda-pack\n    archive_path: env.tar.gz\n`
  it('are checked as if written in the file: a packed environment under an override to local is refused there', () => {
    expect(compileWorkflow(packed).ok).toBe(true)
    const r = compileWorkflow(packed, { overrides: { strategy: 'local' } })
    expect(r.ok).toBe(false)
    const [p] = r.problems
    expect(p).toMatchObject({ code: 'environment-not-applied', severity: 'error' })
    expect(p!.message).toContain('with strategy local (given as an override)')
    expect([p!.range.start.line, p!.range.start.col]).toEqual([6, 11])
  })
  it('make the plan use them, with their own warnings (a Dask-only key under --backend local)', () => {
    const dask = `analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  backend: dask\n  config:\n    scheduler_address: tcp://h:8786\n`
    const r = compileWorkflow(dask, { overrides: { backend: 'local', strategy: 'slurm' } })
    expect(r.plan).toMatchObject({ backend: 'local', strategy: 'slurm' })
    expect(r.problems.map((p) => p.code)).toContain('dask-only-option')
  })
})
