import { describe, expect, it } from 'vitest'
import { assignPoolColors, poolColor, POOL_PALETTE } from './palette'

describe('pool palette', () => {
  it('is stable by name', () => {
    expect(poolColor('gpu')).toBe(poolColor('gpu'))
    expect(assignPoolColors(['gpu', 'default']).gpu).toBe(assignPoolColors(['zzz', 'default', 'gpu', 'aaa']).gpu)
    expect(assignPoolColors(['default']).default).toBe(POOL_PALETTE[0])
  })
  it('gives distinct colours to the pools of one plan', () => {
    const names = Array.from({ length: POOL_PALETTE.length }, (_, i) => `pool${i}`)
    const colours = Object.values(assignPoolColors(names))
    expect(new Set(colours).size).toBe(names.length)
  })
  it('does not depend on input order', () => {
    expect(assignPoolColors(['a', 'b', 'c', 'gpu'])).toEqual(assignPoolColors(['gpu', 'c', 'a', 'b']))
  })
  it('still answers when there are more pools than colours', () => {
    const names = Array.from({ length: 30 }, (_, i) => `p${i}`)
    const map = assignPoolColors(names)
    expect(Object.keys(map)).toHaveLength(30)
    for (const c of Object.values(map)) expect(POOL_PALETTE).toContain(c)
  })
})
