/**
 * Pure: an execution plan (+ its problems) → the pipeline graph's nodes, edges and pool legend.
 */
import type { ExecutionPlan, PlanStage, Problem, SourceRange } from '~/server/workflow'
import { assignPoolColors, poolColor } from '../dag/palette'
import type { GraphEdgeData, GraphLegendPool, GraphNodeData } from '../dag/types'
import { problemsByStage } from './stageMapping'

export interface PlanGraph {
  nodes: GraphNodeData[]
  edges: GraphEdgeData[]
  legend: GraphLegendPool[]
  colors: Record<string, string>
}

export function formatMemory(bytes: number | null): string | null {
  if (bytes == null) return null
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  let v = bytes
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[u]}`
}

/** Short routing text for a node: how the stage got its pool. */
export function routingText(s: Pick<PlanStage, 'pool' | 'routing'>): string {
  const r = s.routing
  switch (r.decision) {
    case 'require':
      return r.require && r.require !== s.pool ? `require ${r.require}` : 'required'
    case 'prefer':
      return r.fallback ? `prefer ✓ (fallback ${r.fallback})` : 'preferred'
    case 'fallback':
      return `prefer ${r.prefer ?? '?'} → fallback`
    default:
      if (r.require) return `require ${r.require} ✖ unresolved`
      if (r.prefer) return `prefer ${r.prefer} ✖ unresolved`
      return 'no requirement'
  }
}

export function planToGraph(
  plan: ExecutionPlan,
  problems: readonly Problem[] = [],
  stageRanges: Record<string, SourceRange> = {},
): PlanGraph {
  const colors = assignPoolColors([...plan.pools.map((p) => p.name), ...plan.stages.map((s) => s.pool)])
  const marks = problemsByStage(problems, plan, stageRanges)
  const stages = [...plan.stages].sort((a, b) => a.index - b.index)
  const nodes: GraphNodeData[] = stages.map((s) => {
    const m = marks.get(s.id)
    const node: GraphNodeData = {
      id: s.id,
      op: s.op,
      pool: s.pool,
      color: colors[s.pool] ?? poolColor(s.pool),
      routing: routingText(s),
      decision: s.routing.decision,
      badges: s.modifiers.map((mod) => mod.name),
      marker: m ? m.severity : null,
    }
    if (m) node.markerText = m.messages.join('\n')
    return node
  })
  const ids = new Set(stages.map((s) => s.id))
  const edges: GraphEdgeData[] = plan.edges
    .filter((e) => ids.has(e.from) && ids.has(e.to))
    .map((e) => ({ from: e.from, to: e.to, kind: e.kind }))
  const served = new Map<string, number>()
  for (const s of plan.stages) served.set(s.pool, (served.get(s.pool) ?? 0) + 1)
  const legend: GraphLegendPool[] = plan.pools.map((p) => ({
    name: p.name,
    color: colors[p.name] ?? poolColor(p.name),
    workers: p.workers,
    cpus: p.resources.cpus,
    memory: formatMemory(p.resources.memoryBytes),
    gpus: p.resources.gpus,
    stages: served.get(p.name) ?? p.stages.length,
    implicit: p.implicit,
  }))
  return { nodes, edges, legend, colors }
}

/** Names offered by the editor's completions for the current plan. */
export function completionNames(plan: ExecutionPlan | null): { pools: string[]; stages: string[]; ops: string[] } {
  if (!plan) return { pools: [], stages: [], ops: [] }
  const pools = new Set<string>()
  for (const p of plan.pools) {
    if (!p.implicit) pools.add(p.name)
    if (p.resourceClass) pools.add(p.resourceClass)
  }
  pools.add('default')
  return {
    pools: [...pools],
    stages: [...plan.stages].sort((a, b) => a.index - b.index).map((s) => s.id),
    ops: Object.keys(plan.registry?.ops ?? {}),
  }
}
