/**
 * Collapses repeated fan-outs into group nodes, so a person reads "48 × define → fill" instead of
 * 96 boxes (as the Dask dashboard groups tasks by prefix).
 *
 * A chain is a maximal run of stages each of which has exactly one upstream whose only downstream it
 * is (a single stage is a chain of one). Chains are siblings when they start from the same set of
 * upstream stages, run the same ops in the same order and end into the same downstream stages: such
 * siblings, `GROUP_MIN` or more, become one group node. Pure and linear in nodes + edges; the group id
 * is derived from its first stage, so it is stable while only parameters change.
 */
import type { GraphEdgeData, GraphNodeData } from './types'

/** Fewer sibling chains than this stay as they are. */
export const GROUP_MIN = 4
export const GROUP_PREFIX = 'group:'

export interface StageGroup {
  id: string
  /** every stage inside, chain by chain, in source order */
  members: string[]
  /** number of sibling chains */
  count: number
  /** stages per chain */
  chainLength: number
  /** the ops along one chain */
  ops: string[]
}

export interface GroupedGraph {
  nodes: GraphNodeData[]
  edges: GraphEdgeData[]
  /** stage id → id of the collapsed group that holds it */
  groupOf: Map<string, string>
  /** every group found (collapsed or expanded), by id */
  groups: Map<string, StageGroup>
}

export function groupRepeatedFanOuts(
  nodes: readonly GraphNodeData[],
  edges: readonly GraphEdgeData[],
  expanded: ReadonlySet<string> = new Set(),
): GroupedGraph {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const preds = new Map<string, string[]>()
  const succs = new Map<string, string[]>()
  for (const n of nodes) {
    preds.set(n.id, [])
    succs.set(n.id, [])
  }
  const seen = new Set<string>()
  for (const e of edges) {
    const k = `${e.from}\u0000${e.to}`
    if (e.from === e.to || seen.has(k) || !byId.has(e.from) || !byId.has(e.to)) continue
    seen.add(k)
    succs.get(e.from)?.push(e.to)
    preds.get(e.to)?.push(e.from)
  }
  const only = (xs: string[] | undefined) => (xs && xs.length === 1 ? xs[0] : undefined)
  /** a stage continues its upstream's chain when each is the other's only neighbour that way */
  const continues = (id: string) => {
    const p = only(preds.get(id))
    return p !== undefined && only(succs.get(p)) === id
  }

  // Walk every chain from its head; bucket heads by (upstream set, ops, downstream set).
  const buckets = new Map<string, string[][]>()
  for (const n of nodes) {
    if (continues(n.id)) continue
    const chain = [n.id]
    let cur = n.id
    for (let next = only(succs.get(cur)); next !== undefined && continues(next); next = only(succs.get(cur))) {
      chain.push(next)
      cur = next
    }
    const up = [...(preds.get(n.id) ?? [])].sort().join(',')
    const down = [...(succs.get(cur) ?? [])].sort().join(',')
    const ops = chain.map((id) => byId.get(id)?.op ?? '').join('>')
    const key = `${up}\u0001${ops}\u0001${down}`
    const b = buckets.get(key)
    if (b) b.push(chain)
    else buckets.set(key, [chain])
  }

  const groups = new Map<string, StageGroup>()
  const groupOf = new Map<string, string>()
  for (const chains of buckets.values()) {
    if (chains.length < GROUP_MIN) continue
    const first = chains[0] as string[]
    const id = `${GROUP_PREFIX}${first[0]}`
    const group: StageGroup = {
      id,
      members: chains.flat(),
      count: chains.length,
      chainLength: first.length,
      ops: first.map((s) => byId.get(s)?.op ?? ''),
    }
    groups.set(id, group)
    if (!expanded.has(id)) for (const m of group.members) groupOf.set(m, id)
  }
  if (groupOf.size === 0) return { nodes: [...nodes], edges: [...edges], groupOf, groups }

  const outNodes: GraphNodeData[] = []
  for (const n of nodes) {
    const g = groupOf.get(n.id)
    if (g === undefined) outNodes.push(n)
    else if (g === `${GROUP_PREFIX}${n.id}`) outNodes.push(groupNode(groups.get(g) as StageGroup, byId))
  }
  const outEdges: GraphEdgeData[] = []
  const kept = new Set<string>()
  for (const e of edges) {
    const from = groupOf.get(e.from) ?? e.from
    const to = groupOf.get(e.to) ?? e.to
    const k = `${from}\u0000${to}`
    if (from === to || kept.has(k)) continue
    kept.add(k)
    outEdges.push(from === e.from && to === e.to ? e : { from, to, kind: e.kind })
  }
  return { nodes: outNodes, edges: outEdges, groupOf, groups }
}

/** The group's node: its pool (or "mixed"), the worst problem inside, and what it holds. */
function groupNode(g: StageGroup, byId: Map<string, GraphNodeData>): GraphNodeData {
  const members = g.members.map((m) => byId.get(m) as GraphNodeData)
  const head = members[0] as GraphNodeData
  const pools = new Set(members.map((m) => m.pool))
  const errors = members.filter((m) => m.marker === 'error').length
  const warnings = members.filter((m) => m.marker === 'warning').length
  const node: GraphNodeData = {
    id: g.id,
    op: g.ops.join(' → '),
    pool: pools.size === 1 ? head.pool : 'mixed pools',
    color: head.color,
    routing: `${g.count} × ${g.chainLength === 1 ? 'stage' : `chain of ${g.chainLength}`} · click to expand`,
    marker: errors ? 'error' : warnings ? 'warning' : null,
    group: {
      count: g.count,
      stages: g.members.length,
      first: head.id,
      last: g.members[g.members.length - 1] ?? head.id,
    },
  }
  if (errors || warnings) node.markerText = `${errors} stage(s) with errors, ${warnings} with warnings inside`
  return node
}
