/**
 * Layered left→right layout of a pipeline graph.
 *
 * `layoutGraph(planOrGraph)` is pure (same input, same positions) and runs anywhere: in Node (bench,
 * tests), in the layout Web Worker (`layout.worker.ts`) and, below a size threshold, on the main
 * thread. `quickLayout` is an O(n + e) longest-path layering used for the first paint and to place
 * new nodes while the real layout runs.
 *
 * Engines, chosen on measurement (`npm run bench -- composer` prints them side by side):
 * - up to `DAGRE_MAX_NODES` nodes, dagre (Sugiyama with network-simplex ranking): the most readable,
 *   and a few ms at that size. ELK's `layered` (in its cheapest settings) was 3-4x slower than dagre.
 * - above it, `layeredLayout`, linear-time: each independent pipeline in its own band (stacked in
 *   source order), longest-path layers, barycenter ordering, each node level with its upstream.
 *   dagre's cost grows much faster than the graph: on the 2,000-stage bench workflow it took 0.9 s
 *   on a quiet machine and 10 s at load 20 (and laying out its 80 pipelines one by one was no faster:
 *   dagre costs ~45 ms per call even for 25 nodes there), far over the 3 s "settled" budget.
 */
import { Graph as DagreGraph, layout as dagreLayout } from '@dagrejs/dagre'
import type { ELK as ElkApi, ElkNode } from 'elkjs/lib/elk-api'
import { NODE_HEIGHT, NODE_WIDTH, type Positions } from './types'

export interface LayoutNode {
  id: string
  width?: number
  height?: number
}
export interface LayoutEdge {
  from: string
  to: string
}
export interface LayoutInput {
  nodes: LayoutNode[]
  edges: LayoutEdge[]
}
/** Anything shaped like an execution plan (stages + edges). */
export interface PlanLike {
  stages: { id: string }[]
  edges: { from: string; to: string }[]
}

export interface LayoutResult {
  positions: Positions
  width: number
  height: number
  /** wall time of the layout in ms */
  ms: number
  engine: 'dagre' | 'layered' | 'elk' | 'quick'
}

export const LAYER_GAP = 70
export const NODE_GAP = 22

export function toLayoutInput(g: LayoutInput | PlanLike): LayoutInput {
  if ('nodes' in g) return g
  return { nodes: g.stages.map((s) => ({ id: s.id })), edges: g.edges.map((e) => ({ from: e.from, to: e.to })) }
}

/** Edges between known nodes, without self loops and duplicates, in input order. */
export function cleanEdges(input: LayoutInput): LayoutEdge[] {
  const ids = new Set(input.nodes.map((n) => n.id))
  const seen = new Set<string>()
  const out: LayoutEdge[] = []
  for (const e of input.edges) {
    if (e.from === e.to || !ids.has(e.from) || !ids.has(e.to)) continue
    const k = `${e.from}\u0000${e.to}`
    if (seen.has(k)) continue
    seen.add(k)
    out.push(e)
  }
  return out
}

/**
 * A key that changes exactly when the layout may change: the node ids (in order) and the edges.
 * Typing that only changes ops, params, pools or modifiers keeps the key, so no re-layout happens.
 */
export function structureKey(g: LayoutInput | PlanLike): string {
  const input = toLayoutInput(g)
  const parts: string[] = []
  for (const n of input.nodes) parts.push(n.id)
  parts.push('\u0001')
  for (const e of cleanEdges(input)) parts.push(`${e.from}>${e.to}`)
  return parts.join('\u0000')
}

export function elkGraph(input: LayoutInput): ElkNode {
  const n = input.nodes.length
  const large = n > 300
  return {
    id: '__root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': String(NODE_GAP),
      'elk.layered.spacing.nodeNodeBetweenLayers': String(LAYER_GAP),
      'elk.spacing.edgeNode': '12',
      'elk.layered.spacing.edgeNodeBetweenLayers': '12',
      'elk.edgeRouting': 'POLYLINE',
      // Keep the source order within layers: adding a stage moves few others.
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.crossingMinimization.forceNodeModelOrder': large ? 'true' : 'false',
      'elk.layered.thoroughness': large ? '1' : '4',
      'elk.layered.nodePlacement.strategy': large ? 'SIMPLE' : 'BRANDES_KOEPF',
      'elk.separateConnectedComponents': 'false',
      'elk.randomSeed': '1',
    },
    children: input.nodes.map((nd) => ({ id: nd.id, width: nd.width ?? NODE_WIDTH, height: nd.height ?? NODE_HEIGHT })),
    edges: cleanEdges(input).map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  }
}

let defaultElk: Promise<ElkApi> | null = null
async function getDefaultElk(): Promise<ElkApi> {
  if (!defaultElk) {
    defaultElk = import('elkjs/lib/elk.bundled.js').then((m) => {
      const Ctor = ((m as unknown as { default?: unknown }).default ?? m) as new () => ElkApi
      return new Ctor()
    })
  }
  return defaultElk
}

/** Vertical gap between the bands of separate components (independent pipelines). */
export const COMPONENT_GAP = 60
/** Above this many nodes the linear-time `layeredLayout` is used instead of dagre. */
export const DAGRE_MAX_NODES = 300

/**
 * The connected components of a graph (edges as undirected), each with its nodes and edges in input
 * order; components ordered by their first node in the input.
 */
export function components(input: LayoutInput): LayoutInput[] {
  const index = new Map(input.nodes.map((n, i) => [n.id, i]))
  const parent = input.nodes.map((_, i) => i)
  const find = (i: number): number => {
    let r = i
    while (parent[r] !== r) r = parent[r] as number
    while (parent[i] !== r) {
      const next = parent[i] as number
      parent[i] = r
      i = next
    }
    return r
  }
  const edges = cleanEdges(input)
  for (const e of edges) {
    const a = find(index.get(e.from) as number)
    const b = find(index.get(e.to) as number)
    // the smaller index is the root: a component is named by its first node
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b)
  }
  const byRoot = new Map<number, LayoutInput>()
  input.nodes.forEach((n, i) => {
    const r = find(i)
    const c = byRoot.get(r)
    if (c) c.nodes.push(n)
    else byRoot.set(r, { nodes: [n], edges: [] })
  })
  for (const e of edges) byRoot.get(find(index.get(e.from) as number))?.edges.push(e)
  return [...byRoot.values()]
}

/** The layout the composer and the run page use: dagre when small, `layeredLayout` when large. */
export function layoutGraphSync(g: LayoutInput | PlanLike): LayoutResult {
  const input = toLayoutInput(g)
  return input.nodes.length > DAGRE_MAX_NODES ? layeredLayout(input) : dagreLayoutSync(input)
}

/** dagre's layout of the whole graph (also the bench's peer for `layeredLayout`). */
export function dagreLayoutSync(g: LayoutInput | PlanLike): LayoutResult {
  const input = toLayoutInput(g)
  const t0 = now()
  if (input.nodes.length === 0) return { positions: {}, width: 0, height: 0, ms: 0, engine: 'dagre' }
  const graph = new DagreGraph()
  graph.setGraph({ rankdir: 'LR', nodesep: NODE_GAP, ranksep: LAYER_GAP, marginx: 0, marginy: 0 })
  graph.setDefaultEdgeLabel(() => ({}))
  for (const n of input.nodes) graph.setNode(n.id, { width: n.width ?? NODE_WIDTH, height: n.height ?? NODE_HEIGHT })
  for (const e of cleanEdges(input)) graph.setEdge(e.from, e.to)
  dagreLayout(graph)
  const positions: Positions = {}
  const { width = 0, height = 0 } = graph.graph() as { width?: number; height?: number }
  for (const n of input.nodes) {
    const d = graph.node(n.id) as { x: number; y: number; width: number; height: number }
    // dagre gives centres; React Flow wants top-left corners. dagre's ordering stacks siblings in
    // reverse source order (the last fan-out branch on top): mirrored vertically (a reflection keeps
    // every crossing and distance), the first stages read first, as in the YAML.
    positions[n.id] = { x: Math.round(d.x - d.width / 2), y: Math.round(height - d.y - d.height / 2) }
  }
  return { positions, width, height, ms: now() - t0, engine: 'dagre' }
}

/**
 * Linear-time layered layout for large graphs: every connected component (an independent pipeline)
 * in its own band, bands stacked top to bottom in source order; inside a band, longest-path layers
 * (x), two barycenter sweeps to order each layer, then each node placed level with the mean of its
 * upstream nodes (y), pushed down only as far as needed to keep the layer's order and spacing.
 */
export function layeredLayout(g: LayoutInput | PlanLike): LayoutResult {
  const t0 = now()
  const input = toLayoutInput(g)
  const positions: Positions = {}
  let width = 0
  let top = 0
  for (const part of components(input)) {
    const r = layerBand(part)
    for (const n of part.nodes) {
      const p = r.positions[n.id] as { x: number; y: number }
      positions[n.id] = { x: p.x, y: p.y + top }
    }
    width = Math.max(width, r.width)
    top += r.height + COMPONENT_GAP
  }
  return { positions, width, height: Math.max(0, top - COMPONENT_GAP), ms: now() - t0, engine: 'layered' }
}

function layerBand(input: LayoutInput): { positions: Positions; width: number; height: number } {
  const n = input.nodes.length
  const index = new Map(input.nodes.map((nd, i) => [nd.id, i]))
  const preds: number[][] = input.nodes.map(() => [])
  const succs: number[][] = input.nodes.map(() => [])
  for (const e of input.edges) {
    const a = index.get(e.from) as number
    const b = index.get(e.to) as number
    succs[a]?.push(b)
    preds[b]?.push(a)
  }
  const layer = longestPathLayers(n, preds, succs)
  const layers: number[][] = []
  for (let i = 0; i < n; i++) {
    const l = layer[i] as number
    while (layers.length <= l) layers.push([])
    layers[l]?.push(i)
  }
  // order inside each layer: barycenter of the neighbours' rows, down then up, twice
  const row = new Float64Array(n)
  for (const ids of layers) ids.forEach((id, r) => (row[id] = r))
  const sweep = (ids: number[], nbrs: number[][]) => {
    const key = new Map<number, number>()
    for (const id of ids) {
      const ns = nbrs[id] as number[]
      let sum = 0
      for (const x of ns) sum += row[x] as number
      key.set(id, ns.length ? sum / ns.length : (row[id] as number))
    }
    ids.sort((a, b) => (key.get(a) as number) - (key.get(b) as number) || (row[a] as number) - (row[b] as number))
    ids.forEach((id, r) => (row[id] = r))
  }
  for (let it = 0; it < 2; it++) {
    for (let l = 1; l < layers.length; l++) sweep(layers[l] as number[], preds)
    for (let l = layers.length - 2; l >= 0; l--) sweep(layers[l] as number[], succs)
  }
  // y: level with the mean of the upstream nodes, in order, never overlapping
  const y = new Float64Array(n)
  const step = NODE_HEIGHT + NODE_GAP
  let height = 0
  let width = 0
  const positions: Positions = {}
  layers.forEach((ids, l) => {
    let next = 0
    for (const id of ids) {
      const ps = (preds[id] as number[]).filter((p) => (layer[p] as number) < l)
      let want = next
      if (ps.length) {
        let sum = 0
        for (const p of ps) sum += y[p] as number
        want = Math.max(next, sum / ps.length)
      }
      y[id] = want
      next = want + step
    }
    // a layer of siblings below one upstream node is centred on it rather than hanging from it
    const first = ids[0]
    const last = ids[ids.length - 1]
    if (first !== undefined && last !== undefined && ids.length > 1) {
      const ups = new Set(ids.flatMap((id) => preds[id] as number[]))
      if (ups.size === 1) {
        const up = y[[...ups][0] as number] as number
        const shift = up - ((y[first] as number) + (y[last] as number)) / 2
        for (const id of ids) y[id] = (y[id] as number) + shift
      }
    }
  })
  // centring may have lifted a fan-out above the band's first row: the band starts at 0
  let minY = Infinity
  for (let i = 0; i < n; i++) minY = Math.min(minY, y[i] as number)
  layers.forEach((ids, l) => {
    const x = l * (NODE_WIDTH + LAYER_GAP)
    for (const id of ids) {
      const nd = input.nodes[id] as LayoutNode
      const p = { x, y: Math.round((y[id] as number) - minY) }
      positions[nd.id] = p
      width = Math.max(width, x + (nd.width ?? NODE_WIDTH))
      height = Math.max(height, p.y + (nd.height ?? NODE_HEIGHT))
    }
  })
  return { positions, width, height }
}

/** Longest path from the sources (Kahn); nodes on a cycle go one layer after their placed upstream. */
function longestPathLayers(n: number, preds: number[][], succs: number[][]): Int32Array {
  const indeg = new Int32Array(n)
  for (let i = 0; i < n; i++) indeg[i] = (preds[i] as number[]).length
  const layer = new Int32Array(n).fill(-1)
  const tmp = new Int32Array(n)
  const queue: number[] = []
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i)
  for (let qi = 0; ; qi++) {
    for (; qi < queue.length; qi++) {
      const a = queue[qi] as number
      layer[a] = tmp[a] as number
      for (const b of succs[a] as number[]) {
        tmp[b] = Math.max(tmp[b] as number, (layer[a] as number) + 1)
        indeg[b] = (indeg[b] as number) - 1
        if (indeg[b] === 0) queue.push(b)
      }
    }
    // a cycle: release its first unplaced node and go on
    let stuck = -1
    for (let i = 0; i < n && stuck < 0; i++) if ((layer[i] as number) < 0 && (indeg[i] as number) > 0) stuck = i
    if (stuck < 0) break
    indeg[stuck] = 0
    queue.push(stuck)
    qi = queue.length - 2
  }
  return layer
}

export async function layoutGraph(g: LayoutInput | PlanLike): Promise<LayoutResult> {
  return layoutGraphSync(g)
}

/** ELK's layered layout, kept to measure against dagre in the bench. */
export async function elkLayout(g: LayoutInput | PlanLike, opts: { elk?: ElkApi } = {}): Promise<LayoutResult> {
  const input = toLayoutInput(g)
  const t0 = now()
  if (input.nodes.length === 0) return { positions: {}, width: 0, height: 0, ms: 0, engine: 'elk' }
  const elk = opts.elk ?? (await getDefaultElk())
  const out = await elk.layout(elkGraph(input))
  const positions: Positions = {}
  for (const c of out.children ?? []) positions[c.id] = { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) }
  return { positions, width: out.width ?? 0, height: out.height ?? 0, ms: now() - t0, engine: 'elk' }
}

/**
 * Longest-path layering (x = layer), nodes stacked in source order inside a layer (y). Linear time;
 * tolerates cycles (nodes on a cycle go after the last layer reached).
 */
export function quickLayout(g: LayoutInput | PlanLike): LayoutResult {
  const t0 = now()
  const input = toLayoutInput(g)
  const edges = cleanEdges(input)
  const n = input.nodes.length
  const index = new Map(input.nodes.map((nd, i) => [nd.id, i]))
  // typed arrays: every index below is in range by construction (0 … n-1)
  const indeg = new Int32Array(n)
  const out: number[][] = input.nodes.map(() => [])
  for (const e of edges) {
    const a = index.get(e.from) ?? 0
    const b = index.get(e.to) ?? 0
    out[a]?.push(b)
    indeg[b] = (indeg[b] ?? 0) + 1
  }
  const layer = new Int32Array(n).fill(-1)
  const queue: number[] = []
  for (let i = 0; i < n; i++)
    if (indeg[i] === 0) {
      queue.push(i)
      layer[i] = 0
    }
  const tmp = new Int32Array(n)
  for (let qi = 0; qi < queue.length; qi++) {
    const a = queue[qi] ?? 0
    for (const b of out[a] ?? []) {
      tmp[b] = Math.max(tmp[b] ?? 0, (layer[a] ?? 0) + 1)
      indeg[b] = (indeg[b] ?? 0) - 1
      if (indeg[b] === 0) {
        layer[b] = tmp[b] ?? 0
        queue.push(b)
      }
    }
  }
  let maxLayer = 0
  for (const l of layer) maxLayer = Math.max(maxLayer, l)
  for (let i = 0; i < n; i++) if ((layer[i] ?? 0) < 0) layer[i] = Math.max(tmp[i] ?? 0, maxLayer + 1)
  const rows = new Map<number, number>()
  const positions: Positions = {}
  let width = 0
  let height = 0
  input.nodes.forEach((nd, i) => {
    const l = layer[i] ?? 0
    const r = rows.get(l) ?? 0
    rows.set(l, r + 1)
    const w = nd.width ?? NODE_WIDTH
    const h = nd.height ?? NODE_HEIGHT
    const x = l * (NODE_WIDTH + LAYER_GAP)
    const y = r * (h + NODE_GAP)
    positions[nd.id] = { x, y }
    width = Math.max(width, x + w)
    height = Math.max(height, y + h)
  })
  return { positions, width, height, ms: now() - t0, engine: 'quick' }
}

/**
 * Positions for a new structure while its real layout is computed: nodes seen before keep their
 * positions; a new node goes one layer right of its placed upstream (or below everything), nudged
 * down until it overlaps nothing.
 */
export function provisionalPositions(g: LayoutInput | PlanLike, previous: Positions): Positions {
  const input = toLayoutInput(g)
  const edges = cleanEdges(input)
  const preds = new Map<string, string[]>()
  for (const e of edges) {
    const l = preds.get(e.to)
    if (l) l.push(e.from)
    else preds.set(e.to, [e.from])
  }
  const result: Positions = {}
  const occupied = new Set<string>()
  const cell = (x: number, y: number) => `${Math.round(x / 40)}:${Math.round(y / 20)}`
  let maxY = 0
  let anyPlaced = false
  for (const n of input.nodes) {
    const p = previous[n.id]
    if (p) {
      result[n.id] = p
      occupied.add(cell(p.x, p.y))
      maxY = Math.max(maxY, p.y + NODE_HEIGHT)
      anyPlaced = true
    }
  }
  if (!anyPlaced) return quickLayout(input).positions
  for (const n of input.nodes) {
    if (result[n.id]) continue
    const placedPreds = (preds.get(n.id) ?? []).flatMap((id) => result[id] ?? [])
    let x: number
    let y: number
    const first = placedPreds[0]
    if (first) {
      x = Math.max(...placedPreds.map((p) => p.x)) + NODE_WIDTH + LAYER_GAP
      y = first.y
    } else {
      x = 0
      y = maxY + NODE_GAP
    }
    while (occupied.has(cell(x, y))) y += NODE_HEIGHT + NODE_GAP
    result[n.id] = { x, y }
    occupied.add(cell(x, y))
    maxY = Math.max(maxY, y + NODE_HEIGHT)
  }
  return result
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now()
}
