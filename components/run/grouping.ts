/**
 * Pure: groups the stages of a run that a person cannot read one by one (as the Dask dashboard
 * groups tasks by prefix), for the run's DAG and its stage rows.
 *
 *  - fan-out: 3 or more stages with the same upstream and the same downstream stages (the same
 *    place in the graph) become one group, labelled by their common name prefix: `n* ×2000`;
 *  - chain: 3 or more stages in a line (each the only child of the one before and its only parent)
 *    become one group: `A1 → A50` (plain stages only: a chain through a group would hide the pipeline).
 * Passes repeat on the grouped graph, so 20 independent chains of 50 stages become one fan-out of
 * 20 chains. A group expands one level at a time (`visibleGroups`).
 */

export interface StageRef {
  id: string
  needs: readonly string[]
}

export interface StageGroup {
  /** a stage id, or `group:<kind>:<first stage>:<stage count>` for a group */
  id: string
  kind: 'stage' | 'chain' | 'fanout'
  label: string
  /** every stage inside (in plan order) */
  stages: string[]
  /** one level down (empty for a stage) */
  children: StageGroup[]
}

export interface GroupedGraph {
  nodes: StageGroup[]
  edges: { from: string; to: string }[]
}

/** graphs up to this many stages are shown as they are */
export const GROUP_ABOVE = 40
const MIN_GROUP = 3
const MAX_PASSES = 6

function stageNode(id: string): StageGroup {
  return { id, kind: 'stage', label: id, stages: [id], children: [] }
}

function commonPrefix(labels: readonly string[]): string {
  if (labels.length === 0) return ''
  let p = labels[0]!
  for (const l of labels) {
    let i = 0
    while (i < p.length && i < l.length && p[i] === l[i]) i++
    p = p.slice(0, i)
    if (!p) break
  }
  return p
}

function fanoutLabel(members: readonly StageGroup[]): string {
  const prefix = commonPrefix(members.map((m) => m.label))
  const kind = members.every((m) => m.kind === 'chain') ? ' chains' : ''
  return `${prefix ? `${prefix}*` : members[0]!.label} ×${members.length}${kind}`
}

interface Graph {
  nodes: StageGroup[]
  parents: Map<string, Set<string>>
  children: Map<string, Set<string>>
}

function buildGraph(nodes: StageGroup[], stageEdges: readonly { from: string; to: string }[]): Graph {
  const owner = new Map<string, string>()
  for (const n of nodes) for (const s of n.stages) owner.set(s, n.id)
  const parents = new Map<string, Set<string>>()
  const children = new Map<string, Set<string>>()
  for (const n of nodes) {
    parents.set(n.id, new Set())
    children.set(n.id, new Set())
  }
  for (const e of stageEdges) {
    const a = owner.get(e.from)
    const b = owner.get(e.to)
    if (!a || !b || a === b) continue
    children.get(a)!.add(b)
    parents.get(b)!.add(a)
  }
  return { nodes, parents, children }
}

function merge(kind: 'chain' | 'fanout', members: StageGroup[]): StageGroup {
  return {
    id: `group:${kind}:${members[0]!.stages[0]}:${members.reduce((n, m) => n + m.stages.length, 0)}`,
    kind,
    label: kind === 'chain' ? `${members[0]!.label} → ${members[members.length - 1]!.label}` : fanoutLabel(members),
    stages: members.flatMap((m) => m.stages),
    children: members,
  }
}

function fanoutPass(g: Graph): StageGroup[] | null {
  const byPlace = new Map<string, StageGroup[]>()
  for (const n of g.nodes) {
    const key = `${[...g.parents.get(n.id)!].sort().join(',')}|${[...g.children.get(n.id)!].sort().join(',')}|${n.kind}`
    const list = byPlace.get(key)
    if (list) list.push(n)
    else byPlace.set(key, [n])
  }
  if (![...byPlace.values()].some((l) => l.length >= MIN_GROUP)) return null
  const out: StageGroup[] = []
  const done = new Set<string>()
  for (const n of g.nodes) {
    if (done.has(n.id)) continue
    const key = `${[...g.parents.get(n.id)!].sort().join(',')}|${[...g.children.get(n.id)!].sort().join(',')}|${n.kind}`
    const list = byPlace.get(key)!
    if (list.length >= MIN_GROUP) {
      for (const m of list) done.add(m.id)
      out.push(merge('fanout', list))
    } else {
      done.add(n.id)
      out.push(n)
    }
  }
  return out
}

function chainPass(g: Graph): StageGroup[] | null {
  const byId = new Map(g.nodes.map((n) => [n.id, n]))
  const single = (m: Map<string, Set<string>>, id: string) => {
    const s = m.get(id)!
    return s.size === 1 ? [...s][0]! : null
  }
  // links u -> v where v is u's only child and u is v's only parent
  const next = new Map<string, string>()
  const prev = new Map<string, string>()
  for (const n of g.nodes) {
    const c = single(g.children, n.id)
    // only plain stages chain: a chain through a group would fold a whole pipeline into one node
    if (c && n.kind === 'stage' && byId.get(c)!.kind === 'stage' && single(g.parents, c) === n.id) {
      next.set(n.id, c)
      prev.set(c, n.id)
    }
  }
  const out: StageGroup[] = []
  const inChain = new Map<string, StageGroup>()
  let changed = false
  for (const n of g.nodes) {
    if (prev.has(n.id) || !next.has(n.id)) continue
    const members = [n]
    for (let c = next.get(n.id); c; c = next.get(c)) members.push(byId.get(c)!)
    if (members.length >= MIN_GROUP) {
      const group = merge('chain', members)
      for (const m of members) inChain.set(m.id, group)
      changed = true
    }
  }
  if (!changed) return null
  const emitted = new Set<StageGroup>()
  for (const n of g.nodes) {
    const group = inChain.get(n.id)
    if (!group) out.push(n)
    else if (!emitted.has(group)) {
      emitted.add(group)
      out.push(group)
    }
  }
  return out
}

/** the stages grouped (top level); graphs of GROUP_ABOVE stages or fewer come back as they are */
export function groupStages(stages: readonly StageRef[], groupAbove = GROUP_ABOVE): StageGroup[] {
  let nodes = stages.map((s) => stageNode(s.id))
  if (stages.length <= groupAbove) return nodes
  const edges = stages.flatMap((s) => s.needs.map((n) => ({ from: n, to: s.id })))
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const chained = chainPass(buildGraph(nodes, edges))
    if (chained) nodes = chained
    const fanned = fanoutPass(buildGraph(nodes, edges))
    if (fanned) nodes = fanned
    if (!chained && !fanned) break
  }
  return nodes
}

/** the groups shown: a group in `expanded` is replaced by its children (recursively) */
export function visibleGroups(top: readonly StageGroup[], expanded: ReadonlySet<string>): StageGroup[] {
  const out: StageGroup[] = []
  const walk = (g: StageGroup) => {
    if (g.kind !== 'stage' && expanded.has(g.id)) for (const c of g.children) walk(c)
    else out.push(g)
  }
  for (const g of top) walk(g)
  return out
}

/** edges between the shown groups (from the stage edges), without duplicates */
export function groupEdges(shown: readonly StageGroup[], stages: readonly StageRef[]): GroupedGraph['edges'] {
  const owner = new Map<string, string>()
  for (const g of shown) for (const s of g.stages) owner.set(s, g.id)
  const seen = new Set<string>()
  const out: GroupedGraph['edges'] = []
  for (const s of stages)
    for (const n of s.needs) {
      const a = owner.get(n)
      const b = owner.get(s.id)
      if (!a || !b || a === b) continue
      const k = `${a}\0${b}`
      if (seen.has(k)) continue
      seen.add(k)
      out.push({ from: a, to: b })
    }
  return out
}

/** per-state counts of a group: the sum over its stages */
export function groupCounts(
  g: StageGroup,
  stageCounts: Readonly<Record<string, Readonly<Record<string, number>>>>,
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of g.stages) {
    const c = stageCounts[s]
    if (c) for (const k in c) out[k] = (out[k] ?? 0) + (c[k] ?? 0)
  }
  return out
}

/** the top-level group that holds each stage (stage id -> group id) */
export function groupOfStage(top: readonly StageGroup[]): Map<string, string> {
  const m = new Map<string, string>()
  for (const g of top) for (const s of g.stages) m.set(s, g.id)
  return m
}
