'use client'
/**
 * The far view of a large graph: zoomed out, every node is a coloured box and every edge a line,
 * painted on one canvas per frame instead of thousands of DOM nodes and SVG paths (which a software
 * compositor repaints at a few frames per second during a pan). React Flow keeps handling pan, zoom
 * and clicks; this canvas only draws, following the viewport through the store (no React state per
 * frame). Ids are drawn once they are large enough to read.
 */
import { useEffect, useMemo, useRef } from 'react'
import { useStoreApi } from '@xyflow/react'
import { NODE_HEIGHT, NODE_WIDTH, type GraphEdgeData, type GraphNodeData, type Positions } from './types'

/** Graphs with at least this many nodes are drawn on the canvas when zoomed out. */
export const FAR_VIEW_MIN_NODES = 300

const EDGE_COLOR: Record<GraphEdgeData['kind'], string> = {
  implicit: '#6b7385',
  needs: '#9aa3b2',
  from: '#5aa9ff',
}
const NODE_FILL = '#1a1e26'
const LABEL_COLOR = '#e6e8ee'
const LABEL_PX = 22
/** ids are drawn when they are at least this many screen pixels high */
const LABEL_MIN_SCREEN_PX = 7

export interface FarViewProps {
  nodes: readonly GraphNodeData[]
  edges: readonly GraphEdgeData[]
  positions: Positions
  selectedId: string | null
  /** the node the keyboard is on (outlined) */
  activeId: string | null
}

type Transform = [number, number, number]

/** The node at a point of the graph (flow coordinates), if any. */
export function nodeAt(nodes: readonly { id: string }[], positions: Positions, x: number, y: number): string | null {
  for (const n of nodes) {
    const p = positions[n.id]
    if (p && x >= p.x && x <= p.x + NODE_WIDTH && y >= p.y && y <= p.y + NODE_HEIGHT) return n.id
  }
  return null
}

export function FarView(props: FarViewProps) {
  const canvas = useRef<HTMLCanvasElement>(null)
  const store = useStoreApi()
  // nodes by fill colour: one fillStyle change per pool, not per node
  const byColor = useMemo(() => {
    const m = new Map<string, GraphNodeData[]>()
    for (const n of props.nodes) {
      const list = m.get(n.color)
      if (list) list.push(n)
      else m.set(n.color, [n])
    }
    return m
  }, [props.nodes])
  const latest = useRef({ ...props, byColor })
  latest.current = { ...props, byColor }
  const drawn = useRef<{ t: Transform; w: number; h: number } | null>(null)
  const schedule = useRef(() => {})

  useEffect(() => {
    let frame = 0
    const draw = () => {
      frame = 0
      const { transform, width, height } = store.getState()
      const el = canvas.current
      const last = drawn.current
      if (!el || !width || !height) return
      // the store also changes for things that move nothing here
      if (
        last &&
        last.w === width &&
        last.h === height &&
        last.t[0] === transform[0] &&
        last.t[1] === transform[1] &&
        last.t[2] === transform[2]
      )
        return
      drawn.current = { t: [transform[0], transform[1], transform[2]], w: width, h: height }
      paint(el, transform, width, height, latest.current)
    }
    schedule.current = () => {
      if (!frame) frame = requestAnimationFrame(draw)
    }
    schedule.current()
    const unsubscribe = store.subscribe(() => schedule.current())
    return () => {
      unsubscribe()
      cancelAnimationFrame(frame)
    }
  }, [store])
  // new data: draw again on the next frame
  // biome-ignore lint/correctness/useExhaustiveDependencies: these are what is drawn (read through `latest`)
  useEffect(() => {
    drawn.current = null
    schedule.current()
  }, [props.nodes, props.edges, props.positions, props.selectedId, props.activeId])

  return (
    <canvas
      ref={canvas}
      className="far-view"
      data-testid="graph-far-view"
      role="img"
      aria-label="Overview of the whole graph: zoom in or use the arrow keys to read the stages"
    />
  )
}

function paint(
  el: HTMLCanvasElement,
  [tx, ty, k]: Transform,
  width: number,
  height: number,
  d: FarViewProps & { byColor: Map<string, GraphNodeData[]> },
) {
  const dpr = window.devicePixelRatio || 1
  const pw = Math.round(width * dpr)
  const ph = Math.round(height * dpr)
  if (el.width !== pw || el.height !== ph) {
    el.width = pw
    el.height = ph
    el.style.width = `${width}px`
    el.style.height = `${height}px`
  }
  const ctx = el.getContext('2d')
  if (!ctx) return
  ctx.setTransform(1, 0, 0, 1, 0, 0)
  ctx.clearRect(0, 0, pw, ph)
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * tx, dpr * ty)
  // the part of the graph in view (flow coordinates), with a node's margin
  const x0 = -tx / k - NODE_WIDTH
  const y0 = -ty / k - NODE_HEIGHT
  const x1 = (width - tx) / k
  const y1 = (height - ty) / k
  const inView = (p: { x: number; y: number } | undefined) => !!p && p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1
  const { positions } = d

  ctx.lineWidth = 1.2 / k
  for (const kind of ['implicit', 'needs', 'from'] as const) {
    ctx.beginPath()
    for (const e of d.edges) {
      if (e.kind !== kind) continue
      const a = positions[e.from]
      const b = positions[e.to]
      if (!a || !b || (!inView(a) && !inView(b))) continue
      ctx.moveTo(a.x + NODE_WIDTH, a.y + NODE_HEIGHT / 2)
      ctx.lineTo(b.x, b.y + NODE_HEIGHT / 2)
    }
    ctx.strokeStyle = EDGE_COLOR[kind]
    ctx.stroke()
  }

  // a node: dark box, pool-coloured left band and border (as the detailed node)
  for (const [color, list] of d.byColor) {
    ctx.fillStyle = NODE_FILL
    for (const n of list) {
      const p = positions[n.id]
      if (inView(p)) ctx.fillRect(p!.x, p!.y, NODE_WIDTH, NODE_HEIGHT)
    }
    ctx.fillStyle = color
    ctx.beginPath()
    for (const n of list) {
      const p = positions[n.id]
      if (!inView(p)) continue
      ctx.rect(p!.x, p!.y, 24, NODE_HEIGHT)
      if (n.group) ctx.rect(p!.x + 8, p!.y - 8, NODE_WIDTH - 8, 6)
    }
    ctx.fill()
  }
  // markers and outlines
  const outline = (id: string | null, color: string, widthPx: number) => {
    const p = id ? positions[id] : undefined
    if (!p) return
    ctx.strokeStyle = color
    ctx.lineWidth = widthPx / k
    ctx.strokeRect(p.x, p.y, NODE_WIDTH, NODE_HEIGHT)
  }
  for (const n of d.nodes) if (n.marker === 'error' && inView(positions[n.id])) outline(n.id, '#ff6b6b', 2)
  outline(d.selectedId, '#e6e8ee', 3)
  outline(d.activeId, '#ffd166', 4)

  if (LABEL_PX * k >= LABEL_MIN_SCREEN_PX) {
    ctx.fillStyle = LABEL_COLOR
    ctx.font = `600 ${LABEL_PX}px system-ui, sans-serif`
    ctx.textBaseline = 'middle'
    for (const n of d.nodes) {
      const p = positions[n.id]
      if (!inView(p)) continue
      const text = n.group ? `${n.group.first} … ×${n.group.count}` : n.id
      ctx.fillText(text, p!.x + 32, p!.y + NODE_HEIGHT / 2, NODE_WIDTH - 40)
    }
  }
}
