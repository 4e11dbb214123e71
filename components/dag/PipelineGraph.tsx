'use client'

import {
  memo,
  useCallback,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
  type MouseEvent as ReactMouseEvent,
  type ReactNode,
} from 'react'
import {
  MarkerType,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  useStore,
  useStoreApi,
  type Edge,
  type ReactFlowState,
  type NodeMouseHandler,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import './dag.css'
import { DETAIL_ZOOM, NodeDomIds, nodeDomId, nodeTypes, type StageFlowNode } from './StageNode'
import { FAR_VIEW_MIN_NODES, FarView, nodeAt } from './FarView'
import { NAV_KEYS, type NavKey, nextNode } from './keyboardNav'
import { useGraphLayout } from './useGraphLayout'
import { NODE_HEIGHT, NODE_WIDTH, type GraphEdgeData, type GraphLegendPool, type GraphNodeData } from './types'
import { PoolLegend } from './PoolLegend'
import { FlowChrome, READ_ONLY_FLOW } from './readOnlyFlow'
import { GROUP_PREFIX, type GroupedGraph, groupRepeatedFanOuts } from './groups'

export interface PipelineGraphProps {
  /** one node per stage (or task group); the id is the node id */
  nodes: GraphNodeData[]
  edges: GraphEdgeData[]
  /** highlighted node (e.g. the stage under the editor's cursor) */
  selectedId?: string | null
  onNodeClick?: (id: string) => void
  /** pools shown in the legend (omit to hide the legend) */
  legend?: GraphLegendPool[]
  /** when this value changes the view is fitted to the graph again (e.g. another workflow was loaded) */
  fitKey?: string | number
  /** dims the graph (e.g. the source has a syntax error and this is the last good graph) */
  stale?: boolean
  /** overlays drawn over the graph (banners) */
  children?: ReactNode
  className?: string
  /** show the minimap (default: when more than 60 nodes) */
  minimap?: boolean
  /** collapse repeated fan-outs into group nodes with a count (click one to expand it) */
  groupRepeats?: boolean
  /** show a search box that finds a stage (inside groups too) and centres it */
  searchable?: boolean
}

const NO_GROUPS: ReadonlySet<string> = new Set()
const NO_NODES: StageFlowNode[] = []
const NO_EDGES: Edge[] = []
const isZoomedOut = (s: ReactFlowState) => s.transform[2] < DETAIL_ZOOM

const HANDLES = [
  { type: 'target' as const, position: Position.Left, x: 0, y: NODE_HEIGHT / 2 - 1, width: 2, height: 2 },
  { type: 'source' as const, position: Position.Right, x: NODE_WIDTH - 2, y: NODE_HEIGHT / 2 - 1, width: 2, height: 2 },
]

const EDGE_STYLE: Record<GraphEdgeData['kind'], { style: React.CSSProperties; className: string }> = {
  implicit: { style: { stroke: '#6b7385', strokeWidth: 1.2, strokeDasharray: '5 4' }, className: 'edge-implicit' },
  needs: { style: { stroke: '#9aa3b2', strokeWidth: 1.4 }, className: 'edge-needs' },
  from: { style: { stroke: '#5aa9ff', strokeWidth: 2 }, className: 'edge-from' },
}

const MARKER = { type: MarkerType.ArrowClosed, width: 14, height: 14 }
const MINIMAP_STYLE = { width: 180, height: 110 }

/**
 * A read-only, auto-laid-out pipeline DAG (React Flow). Nodes are memoised and carry fixed sizes and
 * handle positions, so nothing is measured and only visible elements are rendered: 500+ nodes pan and
 * zoom smoothly. Reused by the composer (pools) and the run page (task state, progress).
 */
export function PipelineGraph(props: PipelineGraphProps) {
  return (
    <ReactFlowProvider>
      <PipelineGraphInner {...props} />
    </ReactFlowProvider>
  )
}

const sameList = <T,>(a: readonly T[] | undefined, b: readonly T[] | undefined) =>
  a === b || (!!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]))
const sameShallow = (a: object | undefined, b: object | undefined) => {
  if (a === b) return true
  if (!a || !b) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k])
}

/** Whether a node shows the same thing (field by field: a re-plan rebuilds every node's data). */
export function sameNodeData(a: GraphNodeData, b: GraphNodeData): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.op === b.op &&
      a.pool === b.pool &&
      a.color === b.color &&
      a.routing === b.routing &&
      a.decision === b.decision &&
      a.marker === b.marker &&
      a.markerText === b.markerText &&
      a.state === b.state &&
      sameList(a.badges, b.badges) &&
      sameShallow(a.group, b.group) &&
      sameShallow(a.progress, b.progress) &&
      Object.keys(a).length === Object.keys(b).length)
  )
}

const PipelineGraphInner = memo(function PipelineGraphInner({
  nodes: allNodes,
  edges: allEdges,
  selectedId: selectedStage,
  onNodeClick,
  legend,
  fitKey,
  stale,
  children,
  className,
  minimap,
  groupRepeats = false,
  searchable = false,
}: PipelineGraphProps) {
  // Groups the user expanded; another workflow (fitKey) starts collapsed again.
  const [expanded, setExpanded] = useState<{ fitKey: unknown; ids: ReadonlySet<string> }>({ fitKey, ids: NO_GROUPS })
  const expandedIds = expanded.fitKey === fitKey ? expanded.ids : NO_GROUPS
  const grouped: GroupedGraph = useMemo(
    () =>
      groupRepeats
        ? groupRepeatedFanOuts(allNodes, allEdges, expandedIds)
        : { nodes: allNodes, edges: allEdges, groupOf: new Map(), groups: new Map() },
    [allNodes, allEdges, expandedIds, groupRepeats],
  )
  const { nodes, edges, groupOf } = grouped
  const expand = useCallback(
    (ids: string[]) =>
      setExpanded((cur) => {
        const base = cur.fitKey === fitKey ? cur.ids : NO_GROUPS
        return { fitKey, ids: new Set([...base, ...ids]) }
      }),
    [fitKey],
  )
  const collapseAll = useCallback(() => setExpanded({ fitKey, ids: NO_GROUPS }), [fitKey])
  // a stage inside a collapsed group highlights its group
  const selectedId = selectedStage ? (groupOf.get(selectedStage) ?? selectedStage) : selectedStage
  const [centerOn, setCenterOn] = useState<{ id: string; n: number } | null>(null)
  // the node the keyboard is on (the graph itself holds the focus: aria-activedescendant)
  const [active, setActive] = useState<string | null>(null)
  const activeId = active && nodes.some((n) => n.id === active) ? active : null
  const [keyFocus, setKeyFocus] = useState(false)
  const [revealKey, setRevealKey] = useState<{ id: string; n: number } | null>(null)
  const domPrefix = useId()

  const layoutInput = useMemo(
    () => ({ nodes: nodes.map((n) => ({ id: n.id })), edges: edges.map((e) => ({ from: e.from, to: e.to })) }),
    [nodes, edges],
  )
  // The layout input only changes identity when the structure does (keeps useGraphLayout's memo cheap).
  const structural = useStableByKey(layoutInput)
  const { positions, key: layoutKey, pending } = useGraphLayout(structural)

  // Reuse node objects whose data, position and selection did not change: React Flow and the memoised
  // node component then skip them entirely.
  const cache = useRef(new Map<string, { sig: string; data: GraphNodeData; node: StageFlowNode }>())
  const lastNodes = useRef<StageFlowNode[]>([])
  const lastEdges = useRef<Edge[]>([])
  const rfNodes = useMemo(() => {
    const next = new Map<string, { sig: string; data: GraphNodeData; node: StageFlowNode }>()
    const out: StageFlowNode[] = []
    for (const d of nodes) {
      const pos = positions[d.id] ?? { x: 0, y: 0 }
      const selected = d.id === selectedId
      const active = d.id === activeId
      const sig = `${pos.x},${pos.y}|${selected ? 1 : 0}|${active ? 1 : 0}`
      const prev = cache.current.get(d.id)
      let node: StageFlowNode
      if (prev && prev.sig === sig && sameNodeData(prev.data, d)) node = prev.node
      else
        node = {
          id: d.id,
          type: 'stage',
          position: pos,
          data: d as StageFlowNode['data'],
          width: NODE_WIDTH,
          height: NODE_HEIGHT,
          measured: { width: NODE_WIDTH, height: NODE_HEIGHT },
          handles: HANDLES,
          selected,
          className: active ? 'is-kbd-active' : undefined,
          draggable: false,
          connectable: false,
          focusable: false,
          ariaLabel: `stage ${d.id}`,
        }
      next.set(d.id, { sig, data: node.data, node })
      out.push(node)
    }
    cache.current = next
    // nothing changed (a parameter edit): the same array, so React Flow does not re-read 2,000 nodes
    const prev = lastNodes.current
    if (prev.length === out.length && out.every((n, i) => n === prev[i])) return prev
    lastNodes.current = out
    return out
  }, [nodes, positions, selectedId, activeId])

  // Same for edges: only edges whose kind or highlight changed get new objects.
  const edgeCache = useRef(new Map<string, { sig: string; edge: Edge }>())
  const rfEdges = useMemo(() => {
    const next = new Map<string, { sig: string; edge: Edge }>()
    const out: Edge[] = []
    for (const e of edges) {
      const id = `${e.from}->${e.to}`
      if (next.has(id)) continue
      const active = selectedId != null && (e.from === selectedId || e.to === selectedId)
      const sig = `${e.kind}|${active ? 1 : 0}`
      const prev = edgeCache.current.get(id)
      let edge: Edge
      if (prev && prev.sig === sig) edge = prev.edge
      else {
        const st = EDGE_STYLE[e.kind] ?? EDGE_STYLE.needs
        edge = {
          id,
          source: e.from,
          target: e.to,
          style: active ? { ...st.style, stroke: '#e6e8ee', strokeWidth: 2.2 } : st.style,
          className: st.className + (active ? ' edge-active' : ''),
          markerEnd: MARKER,
          focusable: false,
          selectable: false,
          zIndex: active ? 1 : 0,
        }
      }
      next.set(id, { sig, edge })
      out.push(edge)
    }
    edgeCache.current = next
    const prev = lastEdges.current
    if (prev.length === out.length && out.every((e, i) => e === prev[i])) return prev
    lastEdges.current = out
    return out
  }, [edges, selectedId])

  /** what a click on a node does: a group expands (centred on its first stage), a stage is selected */
  const activate = useCallback(
    (id: string) => {
      const group = id.startsWith(GROUP_PREFIX) ? grouped.groups.get(id) : undefined
      if (group) {
        const first = group.members[0] as string
        expand([group.id])
        setCenterOn((c) => ({ id: first, n: (c?.n ?? 0) + 1 }))
        setActive((a) => (a === id ? first : a))
      } else onNodeClick?.(id)
    },
    [onNodeClick, grouped, expand],
  )
  const handleClick = useCallback<NodeMouseHandler<StageFlowNode>>((_, node) => activate(node.id), [activate])
  const findStage = useCallback(
    (id: string) => {
      const group = groupOf.get(id)
      if (group) expand([group])
      setCenterOn((c) => ({ id, n: (c?.n ?? 0) + 1 }))
      onNodeClick?.(id)
    },
    [groupOf, expand, onNodeClick],
  )
  const showMinimap = minimap ?? nodes.length > 60
  // Culling pays while few nodes are in view. Zoomed out (the cheap far view) most nodes are in view
  // anyway, and culling would re-render the node list on every frame of a pan: all nodes stay
  // mounted then, and a pan only moves the viewport's transform.
  const zoomedOut = useStore(isZoomedOut)
  // a large graph zoomed out is painted on one canvas (FarView); React Flow then holds no nodes
  const far = zoomedOut && nodes.length >= FAR_VIEW_MIN_NODES
  const collapsedGroups = [...grouped.groups.keys()].filter((g) => !expandedIds.has(g)).length
  const rfApi = useReactFlow()
  const handlePaneClick = useCallback(
    (ev: ReactMouseEvent) => {
      if (!far) return
      const p = rfApi.screenToFlowPosition({ x: ev.clientX, y: ev.clientY })
      const hit = nodeAt(nodes, positions, p.x, p.y)
      if (hit) activate(hit)
    },
    [far, nodes, positions, activate, rfApi],
  )
  const handleKey = (ev: KeyboardEvent<HTMLDivElement>) => {
    if (ev.target !== ev.currentTarget) return // typing in the search box
    if (NAV_KEYS.has(ev.key)) {
      ev.preventDefault()
      const next = nextNode(ev.key as NavKey, activeId, nodes, edges, positions)
      if (next) {
        setActive(next)
        setRevealKey((r) => ({ id: next, n: (r?.n ?? 0) + 1 }))
      }
    } else if ((ev.key === 'Enter' || ev.key === ' ') && activeId) {
      ev.preventDefault()
      activate(activeId)
    }
  }
  const handleFocus = (ev: React.FocusEvent<HTMLDivElement>) => {
    if (ev.target !== ev.currentTarget) return
    setKeyFocus(true)
    if (!activeId && nodes.length) {
      const start = selectedId && nodes.some((n) => n.id === selectedId) ? selectedId : (nodes[0]?.id ?? null)
      if (start) {
        setActive(start)
        setRevealKey((r) => ({ id: start, n: (r?.n ?? 0) + 1 }))
      }
    }
  }

  return (
    // biome-ignore lint/a11y/useSemanticElements: a fieldset is a form control group; this is a focusable graph
    <div
      className={`pipeline-graph${stale ? ' is-stale' : ''}${zoomedOut ? ' is-zoomed-out' : ''}${far ? ' is-far-view' : ''}${keyFocus ? ' has-key-focus' : ''}${className ? ` ${className}` : ''}`}
      data-testid="pipeline-graph"
      data-layout={pending ? 'pending' : 'ready'}
      data-nodes={nodes.length}
      data-groups={collapsedGroups}
      data-active={activeId ?? ''}
      role="group"
      aria-roledescription="pipeline graph"
      aria-label="Pipeline graph: arrow keys move between stages, Enter selects a stage or expands a group"
      aria-activedescendant={keyFocus && activeId && !far ? nodeDomId(domPrefix, activeId) : undefined}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the graph is one tab stop; arrow keys move inside it
      tabIndex={0}
      onKeyDown={handleKey}
      onFocus={handleFocus}
      onBlur={(ev) => ev.target === ev.currentTarget && setKeyFocus(false)}
    >
      <NodeDomIds.Provider value={domPrefix}>
        <ReactFlow<StageFlowNode>
          nodes={far ? NO_NODES : rfNodes}
          edges={far ? NO_EDGES : rfEdges}
          nodeTypes={nodeTypes}
          onNodeClick={handleClick}
          onPaneClick={handlePaneClick}
          onlyRenderVisibleElements={!zoomedOut}
          {...READ_ONLY_FLOW}
        >
          <FlowChrome />
          {far ? (
            <FarView
              nodes={nodes}
              edges={edges}
              positions={positions}
              selectedId={selectedId ?? null}
              activeId={activeId}
            />
          ) : null}
          {showMinimap && !far ? (
            <MiniMap
              pannable
              zoomable
              nodeColor={minimapColor}
              maskColor="rgba(15,17,21,0.6)"
              bgColor="#171a21"
              style={MINIMAP_STYLE}
            />
          ) : null}
          <AutoFit fitKey={fitKey} layoutKey={layoutKey} pending={pending} nodes={nodes} positions={positions} />
          <RevealSelected selectedId={selectedId ?? null} positions={positions} />
          <RevealSelected selectedId={revealKey?.id ?? null} request={revealKey?.n} positions={positions} readable />
          <CenterOn request={centerOn} positions={positions} pending={pending} />
        </ReactFlow>
      </NodeDomIds.Provider>
      {searchable ? (
        <GraphSearch
          stages={allNodes}
          onFind={findStage}
          expandedCount={expandedIds.size}
          onCollapseAll={collapseAll}
        />
      ) : null}
      {legend ? <PoolLegend pools={legend} /> : null}
      {children}
    </div>
  )
})

const FIT_OPTIONS = { padding: 0.15, maxZoom: 1 }
/** Zoom at which a large graph opens (node text readable); it is shown from its start (left). */
const READABLE_ZOOM = 0.6

type Flow = ReturnType<typeof useReactFlow>
type StoreApi = ReturnType<typeof useStoreApi>

/**
 * Fits the whole graph when it is readable that way; a large graph instead opens at a readable zoom
 * on its first layers (left edge, top of those layers): pan, zoom out or use the minimap for the rest.
 */
export function fitGraph(
  rf: Flow,
  store: StoreApi,
  positions: Record<string, { x: number; y: number }>,
  nodes: { id: string }[],
  duration = 0,
): boolean {
  const { width, height } = store.getState()
  if (!width || !height) return false
  if (nodes.length === 0) return true
  let minX = Infinity
  let minY = Infinity
  let maxX = -Infinity
  let maxY = -Infinity
  for (const n of nodes) {
    const p = positions[n.id]
    if (!p) continue
    minX = Math.min(minX, p.x)
    minY = Math.min(minY, p.y)
    maxX = Math.max(maxX, p.x + NODE_WIDTH)
    maxY = Math.max(maxY, p.y + NODE_HEIGHT)
  }
  if (!Number.isFinite(minX)) return true
  const pad = 0.15
  const zoomAll = Math.min(width / ((maxX - minX) * (1 + pad)), height / ((maxY - minY) * (1 + pad)))
  if (zoomAll >= 0.45) {
    // centred from the layout's own positions: React Flow's fitView depends on nodes having been
    // measured, and a fit attempted before that silently leaves the default viewport
    const z = Math.min(zoomAll, FIT_OPTIONS.maxZoom)
    const x = (width - (maxX - minX) * z) / 2 - minX * z
    const y = (height - (maxY - minY) * z) / 2 - minY * z
    void rf.setViewport({ x, y, zoom: z }, { duration })
    return true
  }
  const zoom = READABLE_ZOOM
  const visibleRight = minX + width / zoom
  let top = Infinity
  let bottom = -Infinity
  for (const n of nodes) {
    const p = positions[n.id]
    if (!p || p.x > visibleRight) continue
    top = Math.min(top, p.y)
    bottom = Math.max(bottom, p.y + NODE_HEIGHT)
  }
  const contentH = (bottom - top) * zoom
  const y = contentH < height ? (height - contentH) / 2 - top * zoom : 24 - top * zoom
  void rf.setViewport({ x: 24 - minX * zoom, y, zoom }, { duration })
  return true
}

function minimapColor(n: { data?: { color?: unknown } }): string {
  return (n.data?.color as string) ?? '#888'
}

/** Keeps the same object while the structure key is the same (so layout hooks see no change). */
function useStableByKey<T extends { nodes: { id: string }[]; edges: { from: string; to: string }[] }>(v: T): T {
  const ref = useRef<{ key: string; value: T } | null>(null)
  let key = ''
  for (const n of v.nodes) key += n.id + '\u0000'
  key += '\u0001'
  for (const e of v.edges) key += `${e.from}>${e.to}\u0000`
  if (!ref.current || ref.current.key !== key) ref.current = { key, value: v }
  return ref.current.value
}

/** Graphs up to this size are fitted again when their structure changes (a stage added or removed). */
const REFIT_SMALL = 40

/**
 * Fits the view: when `fitKey` changes (another workflow), again once its real layout arrives, and for
 * small graphs whenever the structure changes. Large graphs otherwise keep the user's viewport.
 */
function AutoFit({
  fitKey,
  layoutKey,
  pending,
  nodes,
  positions,
}: {
  fitKey?: string | number
  layoutKey: string
  pending: boolean
  nodes: { id: string }[]
  positions: Record<string, { x: number; y: number }>
}) {
  const rf = useReactFlow()
  const store = useStoreApi()
  const latest = useRef({ nodes, positions })
  latest.current = { nodes, positions }
  // `owed`: a fit was asked for and has not happened yet. It survives the effect's cleanup, so a
  // re-render that cancels the pending timer cannot drop the fit.
  const state = useRef({
    fitKey,
    needFinal: true,
    lastLayoutKey: layoutKey,
    mounted: false,
    owed: false,
    animate: false,
  })
  useEffect(() => {
    const st = state.current
    let fit = false
    let animate = false
    if (!st.mounted || st.fitKey !== fitKey) {
      st.fitKey = fitKey
      st.needFinal = true
      fit = true
    }
    if (!pending && st.needFinal) {
      st.needFinal = false
      fit = true
    }
    if (st.lastLayoutKey !== layoutKey && !pending) {
      if (latest.current.nodes.length <= REFIT_SMALL) {
        fit = true
        animate = st.mounted
      }
      st.lastLayoutKey = layoutKey
    }
    st.mounted = true
    if (fit) {
      st.owed = true
      st.animate = animate
    }
    if (!st.owed) return
    // the flow's size is known only once it has been measured, which can take seconds while the
    // editor loads: keep retrying (for up to a minute) rather than leave the default viewport
    let tries = 0
    let t: ReturnType<typeof setTimeout>
    const attempt = () => {
      if (fitGraph(rf, store, latest.current.positions, latest.current.nodes, st.animate ? 200 : 0)) st.owed = false
      else if (++tries < 600) t = setTimeout(attempt, 100)
    }
    t = setTimeout(attempt, 30)
    return () => clearTimeout(t)
  }, [fitKey, layoutKey, pending, rf, store])
  return null
}

/** Centres the view on a stage the user searched for (or the first stage of a group just expanded),
 * once its final position is known. */
function CenterOn({
  request,
  positions,
  pending,
}: {
  request: { id: string; n: number } | null
  positions: Record<string, { x: number; y: number }>
  pending: boolean
}) {
  const rf = useReactFlow()
  const done = useRef(0)
  useEffect(() => {
    if (!request || done.current === request.n || pending) return
    const p = positions[request.id]
    if (!p) return
    done.current = request.n
    const zoom = Math.max(rf.getViewport().zoom, 0.8)
    void rf.setCenter(p.x + NODE_WIDTH / 2, p.y + NODE_HEIGHT / 2, { zoom, duration: 200 })
  }, [request, positions, pending, rf])
  return null
}

/**
 * Finds a stage by id (exact, then prefix, then substring; case-insensitive), inside collapsed
 * groups too: the group opens and the view centres on the stage.
 */
function GraphSearch({
  stages,
  onFind,
  expandedCount,
  onCollapseAll,
}: {
  stages: readonly { id: string }[]
  onFind(id: string): void
  expandedCount: number
  onCollapseAll(): void
}) {
  const [text, setText] = useState('')
  const [message, setMessage] = useState<string | null>(null)
  const submit = (ev: FormEvent) => {
    ev.preventDefault()
    const q = text.trim().toLowerCase()
    if (!q) return
    const hit =
      stages.find((s) => s.id.toLowerCase() === q) ??
      stages.find((s) => s.id.toLowerCase().startsWith(q)) ??
      stages.find((s) => s.id.toLowerCase().includes(q))
    if (!hit) {
      setMessage(`no stage matches “${text.trim()}”`)
      return
    }
    setMessage(null)
    onFind(hit.id)
  }
  return (
    <form className="graph-search" aria-label="Find a stage" onSubmit={submit} data-testid="graph-search">
      <input
        type="search"
        aria-label="Find a stage"
        placeholder="Find a stage… (Enter)"
        value={text}
        onChange={(e) => setText(e.target.value)}
        data-testid="graph-search-input"
      />
      {message ? (
        <span className="graph-search-msg" role="status" data-testid="graph-search-message">
          {message}
        </span>
      ) : null}
      {expandedCount ? (
        <button type="button" onClick={onCollapseAll} data-testid="graph-collapse-groups">
          Collapse groups ({expandedCount})
        </button>
      ) : null}
    </form>
  )
}

/** Pans (without zooming) to the selected node when it is outside the viewport. */
function RevealSelected({
  selectedId,
  positions,
  request,
  readable = false,
}: {
  selectedId: string | null
  positions: Record<string, { x: number; y: number }>
  /** changes to reveal the same node again */
  request?: number
  /** also zoom in when the view is too far out to show the node in detail (keyboard movement) */
  readable?: boolean
}) {
  const rf = useReactFlow()
  const store = useStoreApi()
  const target = selectedId ? positions[selectedId] : undefined
  // biome-ignore lint/correctness/useExhaustiveDependencies: the selected node's position and a new request are the triggers; a layout that moves other nodes must not re-centre the view
  useEffect(() => {
    if (!selectedId) return
    const p = positions[selectedId]
    if (!p) return
    const { x, y, zoom } = rf.getViewport()
    const { width: w, height: h } = store.getState()
    if (!w || !h) return
    const sx = p.x * zoom + x
    const sy = p.y * zoom + y
    const inside = sx >= 0 && sy >= 0 && sx + NODE_WIDTH * zoom <= w && sy + NODE_HEIGHT * zoom <= h
    if (!inside || (readable && zoom < DETAIL_ZOOM))
      rf.setCenter(p.x + NODE_WIDTH / 2, p.y + NODE_HEIGHT / 2, { zoom: Math.max(zoom, 0.6), duration: 200 })
  }, [selectedId, target?.x, target?.y, request])
  return null
}
