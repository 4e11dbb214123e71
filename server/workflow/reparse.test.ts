import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { IncrementalParser, reparse } from './reparse.ts'
import { applyEdits, EDIT_CHUNKS, EDIT_OPS, y } from './testutil.ts'
import { fastParse, type YNode } from './ynode.ts'

/** Node tree as plain data (ranges, kinds, values), for comparison. */
function shape(n: YNode | null): unknown {
  if (!n) return null
  if (n.kind === 'scalar') return ['s', n.start, n.end, Number.isNaN(n.value) ? 'NaN' : n.value]
  if (n.kind === 'seq') return ['q', n.start, n.end, n.flow, n.items.map(shape)]
  return ['m', n.start, n.end, n.flow, n.pairs.map((p) => [shape(p.key), shape(p.value)])]
}

const doc = y`
  name: demo
  analysis:
    stages:
      - id: A
        op: hep.select
        params: { selection: "nMuon >= 1" }
      # between stages
      - id: B
        op: noop
        needs: [A]

      - id: C
        op: shell
        params:
          command: |
            echo "a: b"
            exit 0
      - id: D
        op: noop
    title: after the stages
  execution:
    backend: local
`

/** The incremental parser's answer for `next` after `prev`, beside a whole parse of `next`. */
function both(prev: string, next: string) {
  const inc = new IncrementalParser()
  inc.parse(prev)
  const got = inc.parse(next)
  const want = fastParse(next)
  return { got, want }
}

function expectSame(prev: string, next: string) {
  const { got, want } = both(prev, next)
  if (want === null) {
    expect(got, `incremental accepted what the fast parser leaves to yaml:\n${next}`).toBeNull()
    return
  }
  expect(got).not.toBeNull()
  expect(got!.value).toStrictEqual(want.value)
  expect(shape(got!.root)).toStrictEqual(shape(want.root))
}

describe('incremental parse (reparse)', () => {
  it('re-reads only the edited stage: the others keep their nodes and values', () => {
    const first = fastParse(doc)!
    const next = doc.replace('nMuon >= 1', 'nMuon >= 12')
    const r = reparse({ source: doc, root: first.root, value: first.value }, next)
    expect(r).not.toBeNull()
    const stages = (r!.value as { analysis: { stages: unknown[] } }).analysis.stages
    const before = (first.value as { analysis: { stages: unknown[] } }).analysis.stages
    expect(stages[0]).toStrictEqual({ id: 'A', op: 'hep.select', params: { selection: 'nMuon >= 12' } })
    // unchanged stages are the same objects; the old value is left as it was
    expect(stages[1]).toBe(before[1])
    expect(stages[3]).toBe(before[3])
    expect((before[0] as { params: { selection: string } }).params.selection).toBe('nMuon >= 1')
    expect(shape(r!.root)).toStrictEqual(shape(fastParse(next)!.root))
  })

  it('gives way to a whole parse when an edit is not inside one stage', () => {
    const first = fastParse(doc)!
    const prev = { source: doc, root: first.root, value: first.value }
    for (const next of [
      doc.replace('name: demo', 'name: demo2'), // before the stages
      doc.replace('backend: local', 'backend: dask'), // after them
      doc.replace('      - id: B', '      - id: A2\n        op: noop\n      - id: B'), // a new item
      doc.replace('        op: noop\n        needs', '      op: noop\n        needs'), // a dedent
      doc.replace('op: shell', 'op: &x shell'), // an anchor: the yaml package's
      doc.replace('A\n        op: hep.select', 'A\n      - op: hep.select'), // splits the item
    ]) {
      expect(reparse(prev, next), next).toBeNull()
      expectSame(doc, next)
    }
  })

  it('handles the last stage, a literal block and blank lines between stages', () => {
    expectSame(doc, doc.replace('op: noop\n  title', 'op: noopy\n  title'))
    expectSame(doc, doc.replace('exit 0', 'exit 10'))
    expectSame(doc, doc.replace('exit 0\n', 'exit 0\n\n\n'))
    expectSame(doc, doc.replace('needs: [A]\n', 'needs: [A]\n        # note\n'))
    expectSame(doc, doc.replace('needs: [A]', 'needs: [A, C]'))
    expectSame(doc, doc.replace('  - id: D\n        op: noop\n', '  - id: D\n        op: noop\n        x: 1\n'))
    const noNewline = doc.replace(/\n {4}title[\s\S]*$/, '')
    expectSame(noNewline, `${noNewline}x`)
    expectSame(noNewline, noNewline.replace(/noop$/, 'no'))
  })

  it('equals a whole parse after every step of random editing (differential)', () => {
    const edits = fc.array(
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDIT_OPS), fc.constantFrom(...EDIT_CHUNKS, '|', '\n      ')), {
        minLength: 1,
        maxLength: 2,
      }),
      { minLength: 1, maxLength: 8 },
    )
    fc.assert(
      fc.property(edits, (steps) => {
        const inc = new IncrementalParser()
        let text = doc
        inc.parse(text)
        for (const ops of steps) {
          text = applyEdits(text, ops)
          const got = inc.parse(text)
          const want = fastParse(text)
          if (want === null) {
            expect(got).toBeNull()
            continue
          }
          expect(got!.value).toStrictEqual(want.value)
          expect(shape(got!.root)).toStrictEqual(shape(want.root))
        }
      }),
      { numRuns: 400, seed: 7 },
    )
  })

  it('equals a whole parse for edits confined to one stage (differential, the incremental path taken)', () => {
    const lines = doc.split('\n')
    const stageLines = lines.map((_, i) => i).filter((i) => i >= 3 && i <= 17)
    let taken = 0
    fc.assert(
      fc.property(
        fc.constantFrom(...stageLines),
        fc.nat(),
        fc.constantFrom(...EDIT_CHUNKS, 'x', 'y1', ' ', '\n          z: 1'),
        fc.boolean(),
        (li, at, chunk, del) => {
          const line = lines[li]!
          const col = line.length ? at % (line.length + 1) : 0
          const offset = lines.slice(0, li).join('\n').length + (li ? 1 : 0) + col
          const next = del
            ? doc.slice(0, offset) + doc.slice(offset + 1)
            : doc.slice(0, offset) + chunk + doc.slice(offset)
          const first = fastParse(doc)!
          if (reparse({ source: doc, root: first.root, value: first.value }, next)) taken++
          expectSame(doc, next)
        },
      ),
      { numRuns: 400, seed: 11 },
    )
    // the property is about the incremental path: most of these edits must have taken it
    expect(taken).toBeGreaterThan(100)
  })
})
