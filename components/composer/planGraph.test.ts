import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compileWorkflow } from '~/server/workflow'
import { completionNames, planToGraph, routingText } from './planGraph'
import { buildStageIndex, stageAt } from './stageMapping'

const hetero = readFileSync(new URL('../../examples/heterogeneous.yaml', import.meta.url), 'utf8')

describe('planToGraph', () => {
  it('one node per stage, coloured by pool, with legend counts', () => {
    const { plan, problems, stageRanges } = compileWorkflow(hetero, { fileName: 'heterogeneous.yaml' })
    const g = planToGraph(plan!, problems, stageRanges)
    expect(g.nodes.map((n) => n.id)).toEqual(['BuildIndex', 'TrainModel', 'ProducePlots'])
    const train = g.nodes.find((n) => n.id === 'TrainModel')!
    expect(train.pool).toBe('gpu')
    expect(train.color).toBe(g.colors.gpu)
    expect(train.badges).toEqual(['gpu.preload', 'cuda.jit'])
    expect(new Set(Object.values(g.colors)).size).toBe(Object.keys(g.colors).length)
    expect(g.legend.find((p) => p.name === 'gpu')).toMatchObject({ stages: 1, gpus: 1, memory: '16GB' })
    expect(g.edges.length).toBeGreaterThan(0)
  })

  it('marks the stage whose requirement no pool provides', () => {
    const broken = hetero.replace(/^ {4}gpu:\s*$/m, '    gpu_nodes:')
    const r = compileWorkflow(broken, { fileName: 'x.yaml' })
    const g = planToGraph(r.plan!, r.problems, r.stageRanges)
    const train = g.nodes.find((n) => n.id === 'TrainModel')!
    expect(train.marker).toBe('error')
    expect(train.markerText).toMatch(/gpu/)
    expect(g.nodes.find((n) => n.id === 'BuildIndex')!.marker).toBeNull()
  })

  it('cursor offsets map back to the stage ranges the compiler gives', () => {
    const r = compileWorkflow(hetero)
    const index = buildStageIndex(r.stageRanges)
    const at = hetero.indexOf('custom.train')
    expect(stageAt(index, { offset: at })).toBe('TrainModel')
    expect(stageAt(index, { offset: hetero.indexOf('version: 1') })).toBeNull()
  })

  it('offers declared pools, stage ids and registry ops for completion', () => {
    const names = completionNames(compileWorkflow(hetero).plan)
    expect(names.pools).toEqual(expect.arrayContaining(['default', 'high_memory', 'gpu']))
    expect(names.stages).toEqual(['BuildIndex', 'TrainModel', 'ProducePlots'])
    expect(names.ops).toEqual(expect.arrayContaining(['custom.build_index', 'custom.train']))
  })
})

describe('routingText', () => {
  const base = { require: null, prefer: null, fallback: null, reason: '' }
  it('says how the stage got its pool', () => {
    expect(routingText({ pool: 'gpu', routing: { ...base, require: 'gpu', decision: 'require' } })).toBe('required')
    expect(routingText({ pool: 'big', routing: { ...base, require: 'high_memory', decision: 'require' } })).toBe(
      'require high_memory',
    )
    expect(
      routingText({ pool: 'default', routing: { ...base, prefer: 'gpu', fallback: 'default', decision: 'fallback' } }),
    ).toBe('prefer gpu → fallback')
    expect(routingText({ pool: 'default', routing: { ...base, decision: 'default' } })).toBe('no requirement')
    expect(routingText({ pool: 'default', routing: { ...base, require: 'gpu', decision: 'default' } })).toMatch(
      /require gpu .*unresolved/,
    )
  })
})
