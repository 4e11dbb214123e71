'use client'
/**
 * The run's DAG: one node per stage (all its tasks/partitions grouped), border coloured by pool,
 * filled by the stage's aggregate state, with n/N done and a per-state bar.
 *
 * Large runs show groups (grouping.ts: fan-outs and chains, as the stage rows do) with counts and a
 * progress bar; a click on a group expands it. The mouse wheel scrolls the page (Ctrl + wheel or
 * the controls zoom), so the graph never traps the page's scroll.
 *
 * A thin wrapper in the run's folder: it reuses the composer's plan → graph mapping
 * (components/composer/planGraph.ts), the DAG's layout hook (ELK in a web worker), its node component
 * (StageNode), legend and styles; it only adds its own node wrapper (stable test ids
 * `stage-node-<id>` with `data-state`, the n/N text, per-state segments) which PipelineGraph has no
 * prop for. If PipelineGraph gains a `nodeTypes` (or `renderNode`) prop, this can become a call to it.
 */
import { type KeyboardEvent, memo, useCallback, useContext, useEffect, useId, useMemo, useRef, useState } from 'react'
import {
  MarkerType,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type Node,
  type NodeMouseHandler,
  type NodeProps,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import '~/components/dag/dag.css'
import { NodeDomIds, nodeDomId, StageNode, type StageFlowNode } from '~/components/dag/StageNode'
import { NAV_KEYS, type NavKey, nextNode } from '~/components/dag/keyboardNav'
import { PoolLegend } from '~/components/dag/PoolLegend'
import { FlowChrome, READ_ONLY_FLOW } from '~/components/dag/readOnlyFlow'
import { useGraphLayout } from '~/components/dag/useGraphLayout'
import { NODE_HEIGHT, NODE_WIDTH, type GraphEdgeData, type GraphNodeData } from '~/components/dag/types'
import { planToGraph } from '~/components/composer/planGraph'
import type { ExecutionPlan } from '~/server/workflow/types'
import { aggregateState, progressOf, STATE_COLORS, TASK_STATE_ORDER } from './aggregate'
import { groupCounts, groupEdges, visibleGroups, type StageGroup } from './grouping'

interface RunNodeData extends GraphNodeData {
  counts: Record<string, number>
  total: number
  done: number
}
type RunFlowNode = Node<RunNodeData & Record<string, unknown>, 'runStage'>
interface RunGroupData {
  id: string
  label: string
  kind: StageGroup['kind']
  stages: number
  state: string
  counts: Record<string, number>
  total: number
  done: number
}
type RunGroupNode = Node<RunGroupData & Record<string, unknown>, 'runGroup'>
type AnyRunNode = RunFlowNode | RunGroupNode

const SEGMENT_ORDER = ['succeeded', 'failed', 'lost', 'cancelled', 'skipped', 'running', 'retrying', 'queued'] as const

const RunStageNode = memo(function RunStageNode(props: NodeProps<RunFlowNode>) {
  const d = props.data
  const title =
    TASK_STATE_ORDER.filter((s) => d.counts[s])
      .map((s) => `${d.counts[s]} ${s}`)
      .join(', ') || 'no tasks yet'
  return (
    <div
      className={`run-stage-node rs-${d.state}`}
      data-testid={`stage-node-${d.id}`}
      data-state={d.state}
      data-done={d.done}
      data-total={d.total}
      title={`${d.id}: ${title}`}
    >
      <StageNode {...(props as unknown as NodeProps<StageFlowNode>)} />
      <span className="rsn-count" data-testid={`stage-count-${d.id}`}>
        {d.done}/{d.total}
      </span>
      {d.total > 0 ? (
        <div className="rsn-bar" aria-hidden>
          {SEGMENT_ORDER.map((s) =>
            d.counts[s] ? (
              <span key={s} style={{ width: `${(100 * d.counts[s]) / d.total}%`, background: STATE_COLORS[s] }} />
            ) : null,
          )}
        </div>
      ) : null}
    </div>
  )
})

const RunGroupStageNode = memo(function RunGroupStageNode(props: NodeProps<RunGroupNode>) {
  const d = props.data
  const domPrefix = useContext(NodeDomIds)
  return (
    <div
      id={nodeDomId(domPrefix, d.id)}
      className={`run-stage-node run-group-node rs-${d.state}`}
      data-testid={`stage-node-${d.id}`}
      data-state={d.state}
      data-done={d.done}
      data-total={d.total}
      title={`${d.label}: ${d.stages} stages, click to expand`}
    >
      <div className="stage-node rg-body">
        <div className="rg-label">{d.label}</div>
        <div className="muted rg-kind">
          {d.kind === 'chain' ? 'chain' : 'group'} of {d.stages} stages ▸
        </div>
      </div>
      <span className="rsn-count" data-testid={`stage-count-${d.id}`}>
        {d.done}/{d.total}
      </span>
      {d.total > 0 ? (
        <div className="rsn-bar" aria-hidden>
          {SEGMENT_ORDER.map((s) =>
            d.counts[s] ? (
              <span key={s} style={{ width: `${(100 * d.counts[s]) / d.total}%`, background: STATE_COLORS[s] }} />
            ) : null,
          )}
        </div>
      ) : null}
    </div>
  )
})

const nodeTypes = { runStage: RunStageNode, runGroup: RunGroupStageNode }

const HANDLES = [
  { type: 'target' as const, position: Position.Left, x: 0, y: NODE_HEIGHT / 2 - 1, width: 2, height: 2 },
  { type: 'source' as const, position: Position.Right, x: NODE_WIDTH - 2, y: NODE_HEIGHT / 2 - 1, width: 2, height: 2 },
]
const EDGE_STYLE: Record<GraphEdgeData['kind'], React.CSSProperties> = {
  implicit: { stroke: '#6b7385', strokeWidth: 1.2, strokeDasharray: '5 4' },
  needs: { stroke: '#9aa3b2', strokeWidth: 1.4 },
  from: { stroke: '#5aa9ff', strokeWidth: 2 },
}
const MARKER = { type: MarkerType.ArrowClosed, width: 14, height: 14 }
const FIT = { padding: 0.15, maxZoom: 1 }

export interface RunGraphProps {
  plan: ExecutionPlan
  stageCounts: Record<string, Record<string, number>>
  selectedStage: string | null
  onSelectStage: (id: string | null) => void
  /** the stages grouped (grouping.ts) and the groups expanded */
  groups: readonly StageGroup[]
  expanded: ReadonlySet<string>
  onToggleGroup: (id: string) => void
}

export function RunGraph(props: RunGraphProps) {
  return (
    <ReactFlowProvider>
      <RunGraphInner {...props} />
    </ReactFlowProvider>
  )
}

function RunGraphInner({
  plan,
  stageCounts,
  selectedStage,
  onSelectStage,
  groups,
  expanded,
  onToggleGroup,
}: RunGraphProps) {
  const graph = useMemo(() => planToGraph(plan), [plan])
  const shown = useMemo(() => visibleGroups(groups, expanded), [groups, expanded])
  const shownEdges = useMemo(() => groupEdges(shown, plan.stages), [shown, plan.stages])
  const layoutInput = useMemo(
    () => ({ nodes: shown.map((n) => ({ id: n.id })), edges: shownEdges.map((e) => ({ from: e.from, to: e.to })) }),
    [shown, shownEdges],
  )
  const { positions } = useGraphLayout(layoutInput)
  // the keyboard: the graph is one tab stop, arrows move between nodes (as in the composer), Enter clicks
  const domPrefix = useId()
  const [active, setActive] = useState<string | null>(null)
  const [keyFocus, setKeyFocus] = useState(false)
  const activeId = active && shown.some((n) => n.id === active) ? active : null

  // node objects are reused while their data and position are unchanged (React Flow skips them)
  const cache = useRef(new Map<string, { sig: string; node: AnyRunNode }>())
  const nodes = useMemo(() => {
    const next = new Map<string, { sig: string; node: AnyRunNode }>()
    const out: AnyRunNode[] = []
    const byId = new Map(graph.nodes.map((n) => [n.id, n]))
    for (const grp of shown) {
      const g = byId.get(grp.id)
      if (grp.kind !== 'stage' || !g) {
        const counts = groupCounts(grp, stageCounts)
        const p = progressOf(counts)
        const pos = positions[grp.id] ?? { x: 0, y: 0 }
        const sig = `${JSON.stringify(counts)}|${pos.x},${pos.y}|${grp.id === activeId ? 1 : 0}`
        const prev = cache.current.get(grp.id)
        const node: AnyRunNode =
          prev && prev.sig === sig
            ? prev.node
            : {
                id: grp.id,
                type: 'runGroup',
                position: pos,
                ...(grp.id === activeId ? { className: 'is-kbd-active' } : {}),
                data: {
                  id: grp.id,
                  label: grp.label,
                  kind: grp.kind,
                  stages: grp.stages.length,
                  state: aggregateState(counts),
                  counts,
                  total: p.total,
                  done: p.done,
                },
                width: NODE_WIDTH,
                height: NODE_HEIGHT,
                measured: { width: NODE_WIDTH, height: NODE_HEIGHT },
                handles: HANDLES,
                draggable: false,
                connectable: false,
                focusable: false,
                ariaLabel: `group ${grp.label}: ${grp.stages.length} stages, ${p.done} of ${p.total} tasks done`,
              }
        next.set(grp.id, { sig, node })
        out.push(node)
        continue
      }
      const counts = stageCounts[g.id] ?? {}
      const p = progressOf(counts)
      const state = aggregateState(counts)
      const pos = positions[g.id] ?? { x: 0, y: 0 }
      const selected = g.id === selectedStage
      const sig = `${JSON.stringify(counts)}|${pos.x},${pos.y}|${selected ? 1 : 0}|${g.id === activeId ? 1 : 0}`
      const prev = cache.current.get(g.id)
      const node: AnyRunNode =
        prev && prev.sig === sig
          ? prev.node
          : {
              id: g.id,
              type: 'runStage',
              position: pos,
              ...(g.id === activeId ? { className: 'is-kbd-active' } : {}),
              data: {
                ...g,
                state,
                progress: { done: p.done, total: p.total, failed: p.failed },
                counts,
                total: p.total,
                done: p.done,
              },
              width: NODE_WIDTH,
              height: NODE_HEIGHT,
              measured: { width: NODE_WIDTH, height: NODE_HEIGHT },
              handles: HANDLES,
              selected,
              draggable: false,
              connectable: false,
              focusable: false,
              ariaLabel: `stage ${g.id}: ${state}, ${p.done} of ${p.total} done`,
            }
      next.set(g.id, { sig, node })
      out.push(node)
    }
    cache.current = next
    return out
  }, [graph, shown, stageCounts, positions, selectedStage, activeId])

  const edges = useMemo<Edge[]>(() => {
    const kinds = new Map(graph.edges.map((e) => [`${e.from}->${e.to}`, e.kind]))
    const out: Edge[] = []
    for (const e of shownEdges) {
      const id = `${e.from}->${e.to}`
      const active = selectedStage != null && (e.from === selectedStage || e.to === selectedStage)
      const st = EDGE_STYLE[kinds.get(id) ?? 'needs'] ?? EDGE_STYLE.needs
      out.push({
        id,
        source: e.from,
        target: e.to,
        style: active ? { ...st, stroke: '#e6e8ee', strokeWidth: 2.2 } : st,
        markerEnd: MARKER,
        focusable: false,
        selectable: false,
      })
    }
    return out
  }, [graph, shownEdges, selectedStage])

  const activate = useCallback(
    (id: string, isGroup: boolean) => (isGroup ? onToggleGroup(id) : onSelectStage(id === selectedStage ? null : id)),
    [onSelectStage, onToggleGroup, selectedStage],
  )
  const onNodeClick = useCallback<NodeMouseHandler<AnyRunNode>>(
    (_, n) => activate(n.id, n.type === 'runGroup'),
    [activate],
  )
  const rf = useReactFlow()
  const reveal = (id: string) => {
    const p = positions[id]
    if (p)
      void rf.setCenter(p.x + NODE_WIDTH / 2, p.y + NODE_HEIGHT / 2, {
        zoom: Math.max(rf.getZoom(), 0.6),
        duration: 200,
      })
  }
  const moveTo = (id: string | null) => {
    if (!id) return
    setActive(id)
    reveal(id)
  }
  const handleKey = (ev: KeyboardEvent<HTMLDivElement>) => {
    if (ev.target !== ev.currentTarget) return
    if (NAV_KEYS.has(ev.key)) {
      ev.preventDefault()
      moveTo(nextNode(ev.key as NavKey, activeId, layoutInput.nodes, layoutInput.edges, positions))
    } else if ((ev.key === 'Enter' || ev.key === ' ') && activeId) {
      ev.preventDefault()
      activate(activeId, shown.find((n) => n.id === activeId)?.kind !== 'stage')
    }
  }

  return (
    // biome-ignore lint/a11y/useSemanticElements: a fieldset is a form control group; this is a focusable graph
    <div
      className={`pipeline-graph run-graph${keyFocus ? ' has-key-focus' : ''}`}
      data-testid="run-graph"
      data-active={activeId ?? ''}
      role="group"
      aria-roledescription="run graph"
      aria-label="Run graph: arrow keys move between stages, Enter selects a stage or expands a group"
      aria-activedescendant={keyFocus && activeId ? nodeDomId(domPrefix, activeId) : undefined}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the graph is one tab stop; arrow keys move inside it
      tabIndex={0}
      onKeyDown={handleKey}
      onFocus={(ev) => {
        if (ev.target !== ev.currentTarget) return
        setKeyFocus(true)
        if (!activeId)
          moveTo(selectedStage && shown.some((n) => n.id === selectedStage) ? selectedStage : (shown[0]?.id ?? null))
      }}
      onBlur={(ev) => ev.target === ev.currentTarget && setKeyFocus(false)}
    >
      <NodeDomIds.Provider value={domPrefix}>
        <ReactFlow<AnyRunNode>
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodeClick={onNodeClick}
          onPaneClick={() => onSelectStage(null)}
          onlyRenderVisibleElements
          {...READ_ONLY_FLOW}
          zoomOnScroll={false}
          panOnScroll={false}
          preventScrolling={false}
          zoomActivationKeyCode="Control"
          fitView
          fitViewOptions={FIT}
        >
          <FlowChrome />
          {nodes.length > 60 ? (
            <MiniMap
              pannable
              zoomable
              nodeColor={(n) => STATE_COLORS[String((n.data as { state?: string }).state ?? 'pending')] ?? '#888'}
              maskColor="rgba(15,17,21,0.7)"
            />
          ) : null}
          <FitWhenLaidOut positions={positions} />
        </ReactFlow>
      </NodeDomIds.Provider>
      <PoolLegend pools={graph.legend} />
    </div>
  )
}

/** fit once the first real layout arrives (the first paint uses the quick layout) */
function FitWhenLaidOut({ positions }: { positions: object }) {
  const rf = useReactFlow()
  const done = useRef(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: `positions` is the trigger: fit again when a new layout lands (the first three)
  useEffect(() => {
    if (done.current >= 3) return
    done.current++
    const t = setTimeout(() => rf.fitView(FIT), 80)
    return () => clearTimeout(t)
  }, [positions, rf])
  return null
}
