import { describe, expect, it } from 'vitest'
import { nextBar } from './ganttKeys'

const lanes = [
  {
    bars: [
      { id: 'a1', x: 10 },
      { id: 'a2', x: 100 },
    ],
  },
  { bars: [] },
  {
    bars: [
      { id: 'b1', x: 20 },
      { id: 'b2', x: 90 },
      { id: 'b3', x: 200 },
    ],
  },
]

describe('timeline keys', () => {
  it('moves along a lane and on to the next or previous lane, skipping empty lanes', () => {
    expect(nextBar(lanes, 'a1', 'ArrowRight')).toBe('a2')
    expect(nextBar(lanes, 'a2', 'ArrowRight')).toBe('b1')
    expect(nextBar(lanes, 'b1', 'ArrowLeft')).toBe('a2')
    expect(nextBar(lanes, 'b3', 'ArrowRight')).toBe('b3')
    expect(nextBar(lanes, 'a1', 'ArrowLeft')).toBe('a1')
  })
  it('moves up and down to the nearest bar in time', () => {
    expect(nextBar(lanes, 'a2', 'ArrowDown')).toBe('b2')
    expect(nextBar(lanes, 'b3', 'ArrowUp')).toBe('a2')
    expect(nextBar(lanes, 'a1', 'ArrowUp')).toBe('a1')
  })
  it('Home and End go to the first and last bar; an unknown bar starts at the first; other keys do nothing', () => {
    expect(nextBar(lanes, 'b2', 'Home')).toBe('a1')
    expect(nextBar(lanes, 'a1', 'End')).toBe('b3')
    expect(nextBar(lanes, 'gone', 'ArrowDown')).toBe('a1')
    expect(nextBar(lanes, 'a1', 'x')).toBeNull()
    expect(nextBar([], null, 'ArrowRight')).toBeNull()
  })
})
