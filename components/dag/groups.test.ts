import { describe, expect, it } from 'vitest'
import { GROUP_MIN, groupRepeatedFanOuts } from './groups'
import type { GraphEdgeData, GraphNodeData } from './types'

const node = (id: string, op = 'noop', pool = 'default'): GraphNodeData => ({ id, op, pool, color: '#fff' })
const edge = (from: string, to: string): GraphEdgeData => ({ from, to, kind: 'needs' })

/** Select → k chains (define → fill) → Merge */
function fanOut(k: number) {
  const nodes = [node('Select', 'hep.select')]
  const edges: GraphEdgeData[] = []
  for (let i = 0; i < k; i++) {
    nodes.push(node(`D${i}`, 'hep.define'), node(`F${i}`, 'hep.hist'))
    edges.push(edge('Select', `D${i}`), edge(`D${i}`, `F${i}`), edge(`F${i}`, 'Merge'))
  }
  nodes.push(node('Merge', 'noop'))
  return { nodes, edges }
}

describe('groupRepeatedFanOuts', () => {
  it('collapses sibling chains with the same ops into one group node with a count', () => {
    const { nodes, edges } = fanOut(10)
    const g = groupRepeatedFanOuts(nodes, edges)
    expect(g.nodes.map((n) => n.id)).toEqual(['Select', 'group:D0', 'Merge'])
    const group = g.nodes[1] as GraphNodeData
    expect(group.group).toEqual({ count: 10, stages: 20, first: 'D0', last: 'F9' })
    expect(group.op).toBe('hep.define → hep.hist')
    expect(g.edges.map((e) => `${e.from}>${e.to}`)).toEqual(['Select>group:D0', 'group:D0>Merge'])
    expect(g.groupOf.get('F7')).toBe('group:D0')
  })

  it('shows the stages of an expanded group', () => {
    const { nodes, edges } = fanOut(10)
    const g = groupRepeatedFanOuts(nodes, edges, new Set(['group:D0']))
    expect(g.nodes).toHaveLength(22)
    expect(g.groupOf.size).toBe(0)
    expect(g.groups.get('group:D0')?.count).toBe(10)
  })

  it('leaves fewer than GROUP_MIN siblings, and siblings with different ops, alone', () => {
    const small = fanOut(GROUP_MIN - 1)
    expect(groupRepeatedFanOuts(small.nodes, small.edges).nodes).toHaveLength(small.nodes.length)
    const mixed = fanOut(6)
    mixed.nodes = mixed.nodes.map((n, i) => (n.id.startsWith('F') ? { ...n, op: `op${i}` } : n))
    expect(groupRepeatedFanOuts(mixed.nodes, mixed.edges).groups.size).toBe(0)
  })

  it('keeps the group id when only parameters change (same structure, same ops)', () => {
    const a = fanOut(8)
    const b = fanOut(8)
    b.nodes = b.nodes.map((n) => ({ ...n, routing: 'changed' }))
    expect([...groupRepeatedFanOuts(a.nodes, a.edges).groups.keys()]).toEqual([
      ...groupRepeatedFanOuts(b.nodes, b.edges).groups.keys(),
    ])
  })

  it('marks a group with the worst problem inside', () => {
    const { nodes, edges } = fanOut(5)
    const marked = nodes.map((n) => (n.id === 'F3' ? { ...n, marker: 'error' as const } : n))
    const g = groupRepeatedFanOuts(marked, edges)
    expect(g.nodes.find((n) => n.id === 'group:D0')?.marker).toBe('error')
  })
})
