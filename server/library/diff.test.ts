import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { diffLines, splitLines } from './diff.ts'

/** Rebuilds the new text from the old one and the hunks (proves the hunks are a correct edit script). */
function apply(oldText: string, newText: string) {
  const a = splitLines(oldText)
  const b = splitLines(newText)
  const d = diffLines(oldText, newText)
  const out: (string | undefined)[] = [] // an undefined (a bad index) fails the comparison
  let i = 0
  for (const h of d.hunks) {
    const oldFrom = h.oldLines ? h.oldStart - 1 : h.oldStart
    while (i < oldFrom) out.push(a[i++])
    i += h.oldLines
    const newFrom = h.newLines ? h.newStart - 1 : h.newStart
    for (let k = 0; k < h.newLines; k++) out.push(b[newFrom + k])
  }
  while (i < a.length) out.push(a[i++])
  return { out, b, d }
}

/** Length of the longest common subsequence: the classic table, one row at a time (past the end: 0). */
function lcsLength(A: string[], B: string[]): number {
  let below = new Array<number>(B.length + 1).fill(0)
  for (let i = A.length - 1; i >= 0; i--) {
    const row = new Array<number>(B.length + 1).fill(0)
    for (let j = B.length - 1; j >= 0; j--)
      row[j] = A[i] === B[j] ? (below[j + 1] ?? 0) + 1 : Math.max(below[j] ?? 0, row[j + 1] ?? 0)
    below = row
  }
  return below[0] ?? 0
}

describe('diffLines', () => {
  it('summarises a small edit', () => {
    const d = diffLines('a\nb\nc\n', 'a\nB\nc\nd\n')
    expect(d).toMatchObject({ identical: false, added: 2, removed: 1, unchanged: 2 })
    expect(d.hunks).toEqual([
      { oldStart: 2, oldLines: 1, newStart: 2, newLines: 1 },
      { oldStart: 3, oldLines: 0, newStart: 4, newLines: 1 },
    ])
  })

  it('says identical texts are identical', () => {
    expect(diffLines('x\ny\n', 'x\ny\n')).toMatchObject({
      identical: true,
      added: 0,
      removed: 0,
      unchanged: 2,
      hunks: [],
    })
    expect(diffLines('', '')).toMatchObject({ identical: true, hunks: [] })
  })

  it('is a minimal, correct edit script (property)', () => {
    const line = fc.constantFrom('a', 'b', 'c', 'd', '  x: 1', '')
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.array(line, { maxLength: 30 }), (a, b) => {
        const oldText = a.join('\n')
        const newText = b.join('\n')
        const { out, b: bl, d } = apply(oldText, newText)
        expect(out).toEqual(bl)
        expect(d.unchanged + d.removed).toBe(splitLines(oldText).length)
        expect(d.unchanged + d.added).toBe(bl.length)
        // minimal: unchanged lines = LCS length
        const A = splitLines(oldText)
        const B = bl
        expect(d.unchanged).toBe(lcsLength(A, B))
      }),
      { numRuns: 300 },
    )
  })

  it('handles large texts quickly', () => {
    const a = Array.from({ length: 20000 }, (_, i) => `line ${i}`)
    const b = a.slice()
    for (let i = 0; i < 20000; i += 97) b[i] = `changed ${i}`
    const t0 = performance.now()
    const d = diffLines(a.join('\n'), b.join('\n'))
    expect(performance.now() - t0).toBeLessThan(3000)
    expect(d.removed).toBe(207)
    expect(d.added).toBe(207)
  })
})
