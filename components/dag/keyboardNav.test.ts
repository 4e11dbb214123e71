import { describe, expect, it } from 'vitest'
import { nextNode } from './keyboardNav'

// A → B → D, A → C (C below B), E alone in a later layer
const nodes = [{ id: 'A' }, { id: 'B' }, { id: 'C' }, { id: 'D' }, { id: 'E' }]
const edges = [
  { from: 'A', to: 'B' },
  { from: 'A', to: 'C' },
  { from: 'B', to: 'D' },
]
const positions = {
  A: { x: 0, y: 50 },
  B: { x: 300, y: 0 },
  C: { x: 300, y: 100 },
  D: { x: 600, y: 0 },
  E: { x: 900, y: 400 },
}
const go = (key: Parameters<typeof nextNode>[0], from: string | null) => nextNode(key, from, nodes, edges, positions)

describe('keyboard movement between graph nodes', () => {
  it('starts at the first node', () => {
    expect(go('ArrowRight', null)).toBe('A')
    expect(go('ArrowDown', 'gone')).toBe('A')
    expect(go('End', 'B')).toBe('E')
    expect(go('Home', 'D')).toBe('A')
  })
  it('follows edges downstream and upstream, nearest in height first', () => {
    expect(go('ArrowRight', 'A')).toBe('B')
    expect(go('ArrowRight', 'B')).toBe('D')
    expect(go('ArrowLeft', 'D')).toBe('B')
    expect(go('ArrowLeft', 'C')).toBe('A')
  })
  it('moves within a layer with up and down, and stays at its ends', () => {
    expect(go('ArrowDown', 'B')).toBe('C')
    expect(go('ArrowUp', 'C')).toBe('B')
    expect(go('ArrowUp', 'B')).toBe('B')
  })
  it('without an edge that way, goes to the nearest node of the next layer', () => {
    expect(go('ArrowRight', 'C')).toBe('D')
    expect(go('ArrowRight', 'D')).toBe('E')
    expect(go('ArrowRight', 'E')).toBe('E')
    expect(go('ArrowLeft', 'A')).toBe('A')
  })
})
