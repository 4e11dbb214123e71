import { describe, expect, it } from 'vitest'
import { groupCounts, groupEdges, groupStages, visibleGroups, type StageRef } from './grouping'

/** `chains` independent chains of `length` stages: c<i>s<j> */
function chains(n: number, length: number): StageRef[] {
  const out: StageRef[] = []
  for (let c = 0; c < n; c++)
    for (let s = 0; s < length; s++) out.push({ id: `c${c}s${s}`, needs: s === 0 ? [] : [`c${c}s${s - 1}`] })
  return out
}

describe('groupStages', () => {
  it('leaves a small graph as it is', () => {
    const stages = chains(2, 5)
    expect(groupStages(stages).map((g) => g.kind)).toEqual(Array(10).fill('stage'))
  })

  it('folds 20 chains of 50 stages into one fan-out of 20 chains, expandable level by level', () => {
    const stages = chains(20, 50)
    const top = groupStages(stages)
    expect(top).toHaveLength(1)
    expect(top[0]).toMatchObject({ kind: 'fanout', label: 'c* ×20 chains' })
    expect(top[0]!.stages).toHaveLength(1000)
    const level1 = visibleGroups(top, new Set([top[0]!.id]))
    expect(level1).toHaveLength(20)
    expect(level1[3]).toMatchObject({ kind: 'chain', label: 'c3s0 → c3s49' })
    const level2 = visibleGroups(top, new Set([top[0]!.id, level1[3]!.id]))
    expect(level2).toHaveLength(19 + 50)
    expect(groupEdges(level2, stages)).toHaveLength(49)
  })

  it('groups a fan-out between a source and a sink; edges go through the group', () => {
    const stages: StageRef[] = [
      { id: 'Load', needs: [] },
      ...Array.from({ length: 100 }, (_, i) => ({ id: `Fit${i}`, needs: ['Load'] })),
      { id: 'Merge', needs: Array.from({ length: 100 }, (_, i) => `Fit${i}`) },
    ]
    const top = groupStages(stages, 10)
    expect(top.map((g) => g.label)).toEqual(['Load', 'Fit* ×100', 'Merge'])
    expect(groupEdges(top, stages)).toEqual([
      { from: 'Load', to: 'group:fanout:Fit0:100' },
      { from: 'group:fanout:Fit0:100', to: 'Merge' },
    ])
  })

  it('sums the per-state counts of a group', () => {
    const top = groupStages(chains(1, 50), 10)
    const counts = { c0s0: { succeeded: 3 }, c0s1: { running: 2, succeeded: 1 } }
    expect(groupCounts(top[0]!, counts)).toEqual({ succeeded: 4, running: 2 })
  })
})
