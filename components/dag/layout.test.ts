import { describe, expect, it } from 'vitest'
import {
  components,
  elkLayout,
  layeredLayout,
  layoutGraph,
  provisionalPositions,
  quickLayout,
  structureKey,
  toLayoutInput,
} from './layout'
import { NODE_HEIGHT, NODE_WIDTH } from './types'

const plan = {
  stages: [{ id: 'A' }, { id: 'B' }, { id: 'C' }, { id: 'D' }],
  edges: [
    { from: 'A', to: 'B', kind: 'implicit' },
    { from: 'A', to: 'C', kind: 'needs' },
    { from: 'B', to: 'D', kind: 'from' },
    { from: 'C', to: 'D', kind: 'needs' },
  ],
}

type XYMap = Record<string, { x: number; y: number }>

/** The position of `id`, failing the test when the layout left it out. */
function at(p: XYMap, id: string): { x: number; y: number } {
  const v = p[id]
  if (!v) throw new Error(`no position for ${id}`)
  return v
}

function overlaps(p: XYMap) {
  const ids = Object.keys(p)
  for (const [i, ia] of ids.entries())
    for (const ib of ids.slice(i + 1)) {
      const a = at(p, ia)
      const b = at(p, ib)
      if (Math.abs(a.x - b.x) < NODE_WIDTH && Math.abs(a.y - b.y) < NODE_HEIGHT) return `${ia}/${ib}`
    }
  return null
}

describe('layoutGraph (dagre, layered left→right)', () => {
  it('puts every edge left to right without overlaps', async () => {
    const { positions, engine } = await layoutGraph(plan)
    expect(engine).toBe('dagre')
    expect(Object.keys(positions).sort()).toEqual(['A', 'B', 'C', 'D'])
    for (const e of plan.edges) expect(at(positions, e.to).x).toBeGreaterThan(at(positions, e.from).x)
    expect(overlaps(positions)).toBeNull()
  })
  it('is deterministic', async () => {
    expect((await layoutGraph(plan)).positions).toEqual((await layoutGraph(plan)).positions)
  })
  it('handles an empty graph and edges to unknown nodes', async () => {
    expect((await layoutGraph({ nodes: [], edges: [] })).positions).toEqual({})
    const r = await layoutGraph({
      nodes: [{ id: 'x' }],
      edges: [
        { from: 'x', to: 'nope' },
        { from: 'x', to: 'x' },
      ],
    })
    expect(Object.keys(r.positions)).toEqual(['x'])
  })
})

describe('layeredLayout (large graphs)', () => {
  // two pipelines: P1 → P2 → P3 and Q1 → {Q2, Q3} → Q4, plus a lone stage; declared interleaved
  const g = {
    nodes: ['P1', 'Q1', 'P2', 'Lone', 'Q2', 'P3', 'Q3', 'Q4'].map((id) => ({ id })),
    edges: [
      { from: 'P1', to: 'P2' },
      { from: 'P2', to: 'P3' },
      { from: 'Q1', to: 'Q2' },
      { from: 'Q1', to: 'Q3' },
      { from: 'Q2', to: 'Q4' },
      { from: 'Q3', to: 'Q4' },
    ],
  }
  it('finds the components in order of their first stage', () => {
    expect(components(g).map((c) => c.nodes.map((n) => n.id))).toEqual([
      ['P1', 'P2', 'P3'],
      ['Q1', 'Q2', 'Q3', 'Q4'],
      ['Lone'],
    ])
  })
  it('stacks each pipeline in its own band, top to bottom in source order, edges left to right, no overlaps', () => {
    const { positions: p, height, engine } = layeredLayout(g)
    expect(engine).toBe('layered')
    expect(overlaps(p)).toBeNull()
    for (const e of g.edges) expect(at(p, e.to).x).toBeGreaterThan(at(p, e.from).x)
    const band = (ids: string[]) => [
      Math.min(...ids.map((id) => at(p, id).y)),
      Math.max(...ids.map((id) => at(p, id).y)),
    ]
    const [pTop, pBottom] = band(['P1', 'P2', 'P3'])
    const [qTop, qBottom] = band(['Q1', 'Q2', 'Q3', 'Q4'])
    expect(pTop).toBe(0)
    expect(qTop).toBeGreaterThan(pBottom as number)
    expect(at(p, 'Lone').y).toBeGreaterThan(qBottom as number)
    expect(height).toBe(at(p, 'Lone').y + NODE_HEIGHT)
    // a chain reads on one line; a fan-out is centred on its upstream, its fan-in between its branches
    expect(new Set(['P1', 'P2', 'P3'].map((id) => at(p, id).y)).size).toBe(1)
    expect((at(p, 'Q2').y + at(p, 'Q3').y) / 2).toBe(at(p, 'Q1').y)
    expect(at(p, 'Q4').y).toBe(at(p, 'Q1').y)
  })
  it('keeps a pipeline where it was when a later one changes, and tolerates cycles', () => {
    const before = layeredLayout(g).positions
    const after = layeredLayout({
      nodes: [...g.nodes, { id: 'Q5' }],
      edges: [...g.edges, { from: 'Q4', to: 'Q5' }],
    }).positions
    for (const id of ['P1', 'P2', 'P3']) expect(after[id]).toEqual(before[id])
    const cyc = layeredLayout({
      nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'b' },
      ],
    }).positions
    expect(Object.keys(cyc).sort()).toEqual(['a', 'b', 'c'])
    expect(overlaps(cyc)).toBeNull()
  })
  it('is what layoutGraph uses above the dagre threshold (2,000 stages in well under a second)', async () => {
    const n = 2000
    const big = {
      nodes: Array.from({ length: n }, (_, i) => ({ id: `S${i}` })),
      edges: Array.from({ length: n - 1 }, (_, i) => ({ from: `S${i}`, to: `S${i + 1}` })).filter(
        (_, i) => i % 25 !== 24,
      ),
    }
    const r = await layoutGraph(big)
    expect(r.engine).toBe('layered')
    expect(Object.keys(r.positions)).toHaveLength(n)
    expect(r.ms).toBeLessThan(1000)
  })
})

describe('elkLayout (kept for the bench comparison)', () => {
  it('also lays every edge left to right without overlaps', async () => {
    const { positions } = await elkLayout(plan)
    for (const e of plan.edges) expect(at(positions, e.to).x).toBeGreaterThan(at(positions, e.from).x)
    expect(overlaps(positions)).toBeNull()
  })
})

describe('quickLayout', () => {
  it('layers by longest path and tolerates cycles', () => {
    const r = quickLayout(plan).positions
    expect(at(r, 'A').x).toBe(0)
    expect(at(r, 'B').x).toBe(at(r, 'C').x)
    expect(at(r, 'D').x).toBeGreaterThan(at(r, 'B').x)
    expect(overlaps(r)).toBeNull()
    const cyc = quickLayout({
      nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'b' },
      ],
    })
    expect(Object.keys(cyc.positions)).toHaveLength(3)
  })
})

describe('structureKey', () => {
  it('ignores edge kinds and duplicates, changes with ids and edges', () => {
    const k = structureKey(plan)
    expect(structureKey({ ...plan, edges: plan.edges.map((e) => ({ ...e, kind: 'needs' })) })).toBe(k)
    expect(structureKey({ ...plan, edges: [...plan.edges, ...plan.edges.slice(0, 1)] })).toBe(k)
    expect(structureKey({ ...plan, stages: [...plan.stages, { id: 'E' }] })).not.toBe(k)
    expect(structureKey({ ...plan, edges: plan.edges.slice(1) })).not.toBe(k)
  })
})

describe('provisionalPositions', () => {
  it('keeps known nodes and places a new one right of its upstream, not on top of anything', () => {
    const prev = quickLayout(plan).positions
    const next = toLayoutInput({
      stages: [...plan.stages, { id: 'E' }],
      edges: [...plan.edges, { from: 'D', to: 'E' }],
    })
    const p = provisionalPositions(next, prev)
    for (const id of ['A', 'B', 'C', 'D']) expect(p[id]).toEqual(prev[id])
    expect(at(p, 'E').x).toBeGreaterThan(at(p, 'D').x)
    expect(overlaps(p)).toBeNull()
  })
})
