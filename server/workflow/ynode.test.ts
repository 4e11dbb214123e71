import { describe, it, expect } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { parseDocument } from 'yaml'
import { fastParse, fromYamlDocument, resolvePlain } from './ynode.ts'
import type { YNode } from './ynode.ts'
import { applyEdits, EDIT_CHUNKS, EDIT_OPS } from './testutil.ts'

const EXAMPLES_DIR = join(import.meta.dirname, '../../examples')
const examples = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: f, text: readFileSync(join(EXAMPLES_DIR, f), 'utf8') }))

/** The reference: the yaml package (value + converted tree), or null when it reports errors. */
function reference(text: string): { value: unknown; root: YNode | null } | null {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true })
  if (doc.errors.length || doc.warnings.length) return null
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 1000 })
  } catch {
    return null
  }
  return { value, root: fromYamlDocument(doc) }
}

/** Node tree without `flow` flags, for comparison. */
function shape(n: YNode | null): unknown {
  if (!n) return null
  if (n.kind === 'scalar') return ['s', n.start, n.end, Number.isNaN(n.value) ? 'NaN' : n.value]
  if (n.kind === 'seq') return ['q', n.start, n.end, n.items.map(shape)]
  return ['m', n.start, n.end, n.pairs.map((p) => [shape(p.key), shape(p.value)])]
}

function agree(text: string): 'fast' | 'slow' {
  const fast = fastParse(text)
  const ref = reference(text)
  if (!fast) return 'slow'
  // whatever the fast path accepts, the yaml package must accept with the same value and ranges
  expect(ref, `fast path accepted text the yaml package rejects:\n${text}`).not.toBeNull()
  expect(fast.value).toStrictEqual(ref!.value)
  expect(shape(fast.root)).toStrictEqual(shape(ref!.root))
  return 'fast'
}

describe('fast YAML parser', () => {
  it.each(examples.map((e) => [e.file, e.text]))('parses %s exactly like the yaml package', (_f, text) => {
    expect(agree(text)).toBe('fast')
  })

  it('resolves plain scalars with the YAML 1.2 core schema', () => {
    const doc = (s: string) => parseDocument(`v: ${s}`).toJS().v
    for (const s of [
      '1',
      '-2',
      '+3',
      '0o17',
      '0x1F',
      '1.5',
      '.5',
      '1e3',
      '-1.5E-2',
      '.inf',
      '-.Inf',
      '.nan',
      'true',
      'False',
      'NULL',
      '~',
      'null',
      'yes',
      'on',
      '02:00:00',
      '1.0',
      '1_000',
      '0b101',
      'tcp://x:1',
    ]) {
      const got = resolvePlain(s)
      const want = doc(s)
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true)
      else expect(got, s).toStrictEqual(want)
    }
  })

  it('bails out on constructs it does not handle', () => {
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: >\n  text\n',
      'a: |+\n  text\n',
      'a: |2\n   text\n',
      'a: |\n  x',
      'a:\tb\n',
      'a: 1\r\nb: 2\r\n',
      '---\na: 1\n',
      'a: 1\na: 2\n',
      'a: [1,\n  2]\n',
      'a: "x\n  y"\n',
      'a: b\n  c\n',
      '? a\n: b\n',
      'a: !tag x\n',
      '<<: {a: 1}\n',
      'just a scalar\n',
      'a: b: c\n',
      '- - a\n',
      'a: [1, 2,]\n',
      '{a: 1}\n',
    ]) {
      expect(fastParse(text), JSON.stringify(text)).toBeNull()
    }
  })

  it('handles empty documents, comments and compact sequences', () => {
    expect(fastParse('')).toEqual({ root: null, value: null })
    expect(fastParse('# only a comment\n\n')).toEqual({ root: null, value: null })
    for (const t of [
      'a:\n- 1\n- 2\nb: x\n',
      'a:\n  - id: A\n    op: x   # c\n  -\n  - "q: #"\n',
      "k: 'it''s'\nd: \"a\\tb\\u00e9\"\n",
      'a: {x: [1, {y: z}], "k": v}\nb: []\nc: {}\n',
      'a:\n\n  # comment\n  b: 1\n',
      'a:   # comment\n  b: 1\nc:   # trailing\n',
      '  a: 1\n  b: 2\n',
      'url: http://x.org/a#b\nneg: -c\n',
      'a: \nb:   \nc:\n-   # x\n-   \n- \n',
      'x:\n  -   # c\n  - 1\n',
      'a: |\n  x\n  y\n\nb: 1\n',
      'a: |-  # c\n    x\n\n     \n    y\n  \nb: 1\n',
      '- |\n  q\n- 2\n',
      'a: |\nb: 1\n',
      'a: |\n\n  x\n   # not a comment\n',
      'cmd:\n  - run: |\n      echo "a: b" # kept\n      exit 0\n    name: x\n',
    ]) {
      expect(agree(t), t).toBe('fast')
    }
  })

  it('agrees with the yaml package on random edits of the examples (differential)', () => {
    const sources = examples.filter((e) => e.text.length < 10_000).map((e) => e.text)
    sources.push(
      'a: |\n  x\n  y\n\nb: |-\n    q\n\n     \n    r\n  \nc:\n  - |\n    s\n  - t\n  - d: |\n      # not a comment\n      u\n    e: 1\n',
    )
    const edit = fc
      .tuple(
        fc.integer({ min: 0, max: sources.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDIT_OPS), fc.constantFrom(...EDIT_CHUNKS, '|', '|-', '\n\n')), {
          minLength: 1,
          maxLength: 4,
        }),
      )
      .map(([i, ops]) => applyEdits(sources[i]!, ops))
    fc.assert(
      fc.property(edit, (text) => {
        agree(text)
      }),
      { numRuns: 250, seed: 42 },
    )
  })
})
