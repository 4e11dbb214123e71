/**
 * Keyboard movement between the timeline's bars (Gantt.tsx): ← → along a lane, ↑ ↓ to the bar of
 * the lane above / below nearest in time, Home / End to the first / last bar. Pure: lanes are given
 * as their bars' ids and centres (x), in drawing order.
 */
export interface NavLane {
  bars: { id: string; x: number }[]
}

export function nextBar(lanes: NavLane[], current: string | null, key: string): string | null {
  const all = lanes.filter((l) => l.bars.length > 0)
  if (all.length === 0) return null
  const first = all[0]!.bars[0]!.id
  const last = all[all.length - 1]!.bars[all[all.length - 1]!.bars.length - 1]!.id
  let li = -1
  let bi = -1
  for (let i = 0; i < all.length && li < 0; i++) {
    const j = all[i]!.bars.findIndex((b) => b.id === current)
    if (j >= 0) [li, bi] = [i, j]
  }
  if (key === 'Home') return first
  if (key === 'End') return last
  if (li < 0) return first
  const lane = all[li]!
  if (key === 'ArrowRight') return lane.bars[bi + 1]?.id ?? all[li + 1]?.bars[0]?.id ?? lane.bars[bi]!.id
  if (key === 'ArrowLeft') {
    const prev = all[li - 1]
    return lane.bars[bi - 1]?.id ?? prev?.bars[prev.bars.length - 1]?.id ?? lane.bars[bi]!.id
  }
  if (key === 'ArrowUp' || key === 'ArrowDown') {
    const to = all[li + (key === 'ArrowUp' ? -1 : 1)]
    if (!to) return lane.bars[bi]!.id
    const x = lane.bars[bi]!.x
    let best = to.bars[0]!
    for (const b of to.bars) if (Math.abs(b.x - x) < Math.abs(best.x - x)) best = b
    return best.id
  }
  return null
}
