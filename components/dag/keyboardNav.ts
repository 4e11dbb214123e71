/**
 * Keyboard movement between the nodes of a laid-out (left → right) pipeline graph: → follows an edge
 * downstream, ← upstream, ↑/↓ move within the same layer, Home/End go to the first/last node. Pure,
 * so the graph component only maps keys to the node it gets back.
 */
import type { Positions } from './types'

export type NavKey = 'ArrowRight' | 'ArrowLeft' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End'
export const NAV_KEYS: ReadonlySet<string> = new Set<NavKey>([
  'ArrowRight',
  'ArrowLeft',
  'ArrowUp',
  'ArrowDown',
  'Home',
  'End',
])

/** nodes closer than this in x are in the same layer */
const SAME_LAYER = 1

/**
 * The node `key` moves to from `current` (null or unknown: the first node), or `current` itself when
 * there is nowhere to go. Among several candidates the one nearest in height wins.
 */
export function nextNode(
  key: NavKey,
  current: string | null,
  nodes: readonly { id: string }[],
  edges: readonly { from: string; to: string }[],
  positions: Positions,
): string | null {
  if (nodes.length === 0) return null
  const first = nodes[0]!.id
  const here = current ? positions[current] : undefined
  if (key === 'Home' || !current || !here || !nodes.some((n) => n.id === current)) return first
  if (key === 'End') return nodes[nodes.length - 1]!.id
  const nearest = (ids: Iterable<string>, score: (p: { x: number; y: number }) => number): string | null => {
    let best: string | null = null
    let bestScore = Infinity
    for (const id of ids) {
      const p = positions[id]
      if (!p || id === current) continue
      const s = score(p)
      if (s < bestScore) {
        best = id
        bestScore = s
      }
    }
    return best
  }
  const dy = (p: { y: number }) => Math.abs(p.y - here.y)
  const ids = nodes.map((n) => n.id)
  if (key === 'ArrowUp' || key === 'ArrowDown') {
    const up = key === 'ArrowUp'
    const layer = ids.filter((id) => {
      const p = positions[id]
      return p && Math.abs(p.x - here.x) < SAME_LAYER && (up ? p.y < here.y : p.y > here.y)
    })
    return nearest(layer, dy) ?? current
  }
  const right = key === 'ArrowRight'
  const linked = edges
    .filter((e) => (right ? e.from === current : e.to === current))
    .map((e) => (right ? e.to : e.from))
  const viaEdge = nearest(linked, dy)
  if (viaEdge) return viaEdge
  // no edge that way: the nearest node in the next layer over
  const beyond = ids.filter((id) => {
    const p = positions[id]
    return p && (right ? p.x > here.x + SAME_LAYER : p.x < here.x - SAME_LAYER)
  })
  return nearest(beyond, (p) => Math.abs(p.x - here.x) * 1e6 + dy(p)) ?? current
}
